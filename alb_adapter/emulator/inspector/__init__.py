"""The local ALB's request inspector (``alb-adapter serve --inspect``): what the load balancer
did with each request, on a page of its own served on a second, loopback-only port.

``record`` keeps the exchanges (a bounded ring buffer), ``web`` serves the page, its JSON API,
replays and the HAR export, ``har`` writes HAR 1.2; ``static/`` holds the page itself (plain
HTML, CSS and one script: no build step, nothing fetched from the network).
"""

"""The local Application Load Balancer: what ALB does in front of a Lambda function, on a laptop.

Needs the ``local`` extra (``pip install 'alb-adapter[local]'``: uvicorn and httpx).
"""

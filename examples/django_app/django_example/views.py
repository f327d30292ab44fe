"""Views that exercise what a load balancer in front changes: paths, cookies, client and scheme.

State lives in the signed-cookie session, so every invocation may land on a fresh Lambda
instance and still see what the previous one stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from .forms import NoteForm

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

# A signed-cookie session must stay under the browser's ~4 KB cookie limit.
MAX_NOTES = 10
SESSION_KEY = "notes"


class HttpResponseSeeOther(HttpResponseRedirect):
    """303: after a POST, tell the browser to GET the page (Django has no such class)."""

    status_code = 303


def _notes(request: HttpRequest) -> list[str]:
    notes = request.session.get(SESSION_KEY, [])
    return [note for note in notes if isinstance(note, str)] if isinstance(notes, list) else []


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Links built with {% url %}, so they stay under the ALB path prefix (SCRIPT_NAME)."""
    return render(request, "django_example/home.html")


@require_http_methods(["GET", "POST"])
def notes(request: HttpRequest) -> HttpResponse:
    """The CSRF-protected form: POST stores a note in the session and redirects (303) to GET."""
    if request.method == "POST":
        form = NoteForm(request.POST)
        if form.is_valid():
            stored = [*_notes(request), form.cleaned_data["text"]][-MAX_NOTES:]
            request.session[SESSION_KEY] = stored
            messages.success(request, "Note saved.")
            return HttpResponseSeeOther(reverse("notes"))
    else:
        form = NoteForm()
    return render(request, "django_example/notes.html", {"form": form, "notes": _notes(request)})


@require_GET
def api_notes(request: HttpRequest) -> JsonResponse:
    """The session's notes as JSON (read-only, so no CSRF token is involved)."""
    return JsonResponse({"notes": _notes(request)})


@require_GET
def api_request(request: HttpRequest) -> JsonResponse:
    """What Django believes about the client and the URL, as the adapter set it up.

    ``remote_addr`` is the address ALB saw (the rightmost X-Forwarded-For entry), not what a
    client wrote into the header; ``is_secure`` and ``absolute_uri`` follow X-Forwarded-Proto
    without SECURE_PROXY_SSL_HEADER, because the adapter sets ``wsgi.url_scheme`` (or the ASGI
    scope's ``scheme``) from it. Under ASGI, Django takes ``SCRIPT_NAME`` from ``root_path``.
    """
    meta = request.META
    return JsonResponse(
        {
            "remote_addr": meta.get("REMOTE_ADDR", ""),
            "x_forwarded_for": meta.get("HTTP_X_FORWARDED_FOR", ""),
            "is_secure": request.is_secure(),
            "scheme": request.scheme,
            "host": request.get_host(),
            "absolute_uri": request.build_absolute_uri(),
            "script_name": meta.get("SCRIPT_NAME", ""),
            "path_info": request.path_info,
            "path": request.path,
        }
    )

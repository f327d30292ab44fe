"""Routes start at ``/``: a path prefix added by an ALB rule arrives as SCRIPT_NAME, not here."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("notes/", views.notes, name="notes"),
    path("api/notes", views.api_notes, name="api-notes"),
    path("api/request", views.api_request, name="api-request"),
]

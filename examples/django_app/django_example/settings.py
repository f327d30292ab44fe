"""Settings for the example: everything a deployment changes comes from the environment.

No database: sessions live in signed cookies, and no app that needs migrations is installed,
so the function runs on Lambda without RDS, VPC or a writable disk.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated environment variable as a list (blank items dropped), else ``default``."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_bool(name: str, default: bool) -> bool:
    """``1/true/yes/on`` or ``0/false/no/off`` (any case); unset means ``default``."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, got {raw!r}")


# A real deployment must set DJANGO_SECRET_KEY: it signs the session cookie, so anyone who knows
# this development default can forge sessions.
SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"
)
DEBUG = env_bool("DJANGO_DEBUG", default=False)

# ALB forwards the Host the client sent, so this lists the names clients use: your domain and,
# for tests against the load balancer's own name, its *.elb.amazonaws.com DNS name. localhost is
# there for `manage.py runserver`; note that it is also the adapter's default_host, which ALB
# health checks (they carry no Host) get -- see README.md, "Health checks".
ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["example.com", ".elb.amazonaws.com", "localhost", "127.0.0.1"]
)
# Only needed when the browser's Origin differs from the Host Django sees (e.g. a CDN in front
# that rewrites Host). Behind ALB alone the Host is kept and the CSRF origin check passes as is.
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# No SECURE_PROXY_SSL_HEADER: the adapter already sets wsgi.url_scheme (or the ASGI scope's
# scheme) from ALB's X-Forwarded-Proto, so request.is_secure() is right without it.
# Cookies go out over HTTPS only, except when developing over plain http with DEBUG on.
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# The listener rule's prefix, which the lambda_handler modules pass to the adapter as base_path.
# Django builds URLs from SCRIPT_NAME by itself, but its cookies default to Path=/: keep them
# under the prefix, so another app behind the same load balancer (a legacy site on /*) neither
# receives this session nor overwrites its sessionid/csrftoken.
ALB_BASE_PATH = os.environ.get("ALB_BASE_PATH", "").rstrip("/")
SESSION_COOKIE_PATH = ALB_BASE_PATH or "/"
CSRF_COOKIE_PATH = ALB_BASE_PATH or "/"

INSTALLED_APPS = [
    "django.contrib.sessions",  # no tables needed with the signed_cookies backend
    "django.contrib.messages",  # "Note saved." after the redirect, kept in the session
    "django.contrib.staticfiles",
    "django_example",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "django_example.urls"
WSGI_APPLICATION = "django_example.wsgi.application"
ASGI_APPLICATION = "django_example.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES: dict[str, dict[str, str]] = {}

# Session data travels in the cookie itself, signed with SECRET_KEY (tamper-proof, not secret):
# state survives from one Lambda invocation to the next without any store. Browsers cap a
# cookie near 4 KB, which is why the notes view keeps only the last few notes.
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
SESSION_COOKIE_HTTPONLY = True
# Messages ride in the same signed session cookie (the default would add a "messages" cookie).
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# Lambda serves no files from disk efficiently: put `collectstatic` output on S3/CloudFront and
# point STATIC_URL there (see README.md). The example itself has no static files.
STATIC_URL = os.environ.get("DJANGO_STATIC_URL", "static/")
STATIC_ROOT = BASE_DIR.parent / "staticfiles"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# No LOGGING override: Django's loggers propagate to the root logger, to which the Lambda runtime
# attaches its CloudWatch handler, so errors (and DisallowedHost warnings) end up in the logs.

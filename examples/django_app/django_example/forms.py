"""The one form of the example: a note, validated by Django before it reaches the session."""

from __future__ import annotations

from django import forms

NOTE_MAX_LENGTH = 140


class NoteForm(forms.Form):
    """A short note; blank or over-long input is refused with a message, not stored."""

    text = forms.CharField(max_length=NOTE_MAX_LENGTH, strip=True, label="Note")

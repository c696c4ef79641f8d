"""Team management forms: add a member (new or existing account), change a role."""

from __future__ import annotations

from django import forms

from accounts.models import Membership


class MemberAddForm(forms.Form):
    username = forms.CharField(
        max_length=150, widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "e.g. rita"})
    )
    email = forms.EmailField(
        required=False,
        help_text="Optional. Where mail is set up, a new account's set-password link is mailed here too.",
    )
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)

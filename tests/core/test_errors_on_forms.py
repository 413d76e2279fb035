"""BillingError.show_on: how a service's refusal lands on the form that asked for it."""

from django import forms

from billing_portal.core.errors import InvalidInput


class CardForm(forms.Form):
    card = forms.CharField()


def shown(error):
    form = CardForm({"card": "x"})
    assert form.is_valid()
    error.show_on(form)
    return form.errors.get("card"), form.non_field_errors()


def test_field_problems_go_under_their_field_and_the_message_on_top():
    error = InvalidInput("That card was declined.", fields={"card": ["Declined."]})
    assert shown(error) == (["Declined."], ["That card was declined."])


def test_a_message_that_a_field_already_says_is_not_repeated():
    error = InvalidInput("Declined.", fields={"card": ["Declined."]})
    assert shown(error) == (["Declined."], [])


def test_problems_of_fields_the_form_lacks_go_on_top():
    error = InvalidInput("No such member.", fields={"member": ["No such member."]})
    assert shown(error) == (None, ["No such member."])


def test_an_error_without_fields_shows_its_message():
    assert shown(InvalidInput("Not now.")) == (None, ["Not now."])

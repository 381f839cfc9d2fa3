"""Factories shared by every app's tests."""

from __future__ import annotations

import factory
from allauth.account.models import EmailAddress

from marketplace.models import Role, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = Role.CLIENT
    password = factory.PostGenerationMethodCall("set_password", "a-Strong-pass-91")

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)
            obj.save()


class CoachUserFactory(UserFactory):
    role = Role.COACH

from django.db import migrations

CERTIFYING_BODIES = [
    ("iPEC", "ipec"),
    ("International Coaching Federation (ICF)", "icf"),
    ("European Mentoring and Coaching Council (EMCC)", "emcc"),
    ("Co-Active Training Institute (CTI)", "cti"),
    ("Association for Coaching (AC)", "ac"),
    ("Center for Credentialing & Education (BCC)", "cce-bcc"),
    ("Other", "other"),
]

SPECIALIZATIONS = [
    ("Career", "career"),
    ("Leadership", "leadership"),
    ("Executive", "executive"),
    ("Life", "life"),
    ("Health and wellness", "wellness"),
    ("Relationships", "relationships"),
    ("Business and entrepreneurship", "business"),
    ("Performance", "performance"),
    ("Mindset and confidence", "mindset"),
    ("Productivity", "productivity"),
]


def seed(apps, schema_editor):
    CertifyingBody = apps.get_model("coaches", "CertifyingBody")
    Specialization = apps.get_model("coaches", "Specialization")
    for name, slug in CERTIFYING_BODIES:
        CertifyingBody.objects.get_or_create(slug=slug, defaults={"name": name})
    for name, slug in SPECIALIZATIONS:
        Specialization.objects.get_or_create(slug=slug, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("coaches", "0002_verification_availability_reviews")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

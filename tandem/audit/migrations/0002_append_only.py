"""The chain head row, and the triggers that refuse UPDATE and DELETE on audit events."""

from django.db import migrations

from tandem.audit.triggers import set_triggers


def create_head(apps, schema_editor):
    apps.get_model("audit", "AuditChainHead").objects.get_or_create(id=1)


def triggers_on(apps, schema_editor):
    set_triggers(schema_editor.connection, on=True)


def triggers_off(apps, schema_editor):
    set_triggers(schema_editor.connection, on=False)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [
        migrations.RunPython(create_head, migrations.RunPython.noop),
        migrations.RunPython(triggers_on, triggers_off),
    ]

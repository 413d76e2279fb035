import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0001_initial"),
        ("subscriptions", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="seatchange",
            name="period_start",
            field=models.DateTimeField(default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="seatchange",
            name="period_end",
            field=models.DateTimeField(default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="seatchange",
            name="seat_price",
            field=models.BigIntegerField(
                default=0, help_text="Price of one seat for a whole period, minor units (0 when unbilled)."
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="seatchange",
            name="currency",
            field=models.CharField(
                choices=[("USD", "USD"), ("EUR", "EUR"), ("GBP", "GBP"), ("CAD", "CAD"), ("AUD", "AUD"),
                         ("CHF", "CHF"), ("SEK", "SEK"), ("INR", "INR"), ("JPY", "JPY"), ("KRW", "KRW")],
                default="USD",
                max_length=3,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="seatchange",
            name="settled_invoice",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                related_name="settled_seat_changes", to="invoices.invoice",
            ),
        ),
        migrations.CreateModel(
            name="JobExecution",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("job", models.CharField(db_index=True, max_length=40)),
                ("started_at", models.DateTimeField()),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("processed", models.PositiveIntegerField(default=0)),
                ("failed", models.PositiveIntegerField(default=0)),
                ("outcome", models.TextField(blank=True)),
            ],
            options={"ordering": ["-started_at"]},
        ),
    ]

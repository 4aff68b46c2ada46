"""Typed configuration, read once from the environment on first use (never at import)."""

import os
from datetime import timedelta
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from invitations.domain import rules


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    table_name: str = Field(alias="TABLE_NAME")
    event_bus_name: str = Field(alias="EVENT_BUS_NAME")
    public_base_url: str = Field(alias="PUBLIC_BASE_URL")
    link_secret_id: str = Field(alias="LINK_SECRET_ID")
    sender_email: str = Field(default="", alias="SENDER_EMAIL")
    sms_sender_id: str = Field(default="", alias="SMS_SENDER_ID")
    ses_configuration_set: str = Field(default="", alias="SES_CONFIGURATION_SET")
    patient_help_url: str = Field(default="", alias="PATIENT_HELP_URL")
    validity_days: int = Field(default=rules.VALIDITY_DAYS, ge=1, alias="VALIDITY_DAYS")
    retention_days: int = Field(default=90, ge=1, alias="RETENTION_DAYS")
    max_sends_per_window: int = Field(default=rules.MAX_SENDS_PER_WINDOW, ge=1, alias="MAX_SENDS_PER_INVITATION")
    max_sends_per_day: int = Field(default=rules.MAX_SENDS_PER_DAY, ge=1, alias="MAX_SENDS_PER_DAY")
    sms_countries: str = Field(default=",".join(rules.SMS_COUNTRIES), alias="SMS_COUNTRIES")
    reminder_days_before: int = Field(default=rules.REMINDER_DAYS_BEFORE, ge=0, alias="REMINDER_DAYS_BEFORE")
    # Local emulation only: a file holding a clock offset in seconds (the "test clock").
    clock_offset_file: str | None = Field(default=None, alias="CLOCK_OFFSET_FILE")

    @property
    def base_url(self) -> str:
        return self.public_base_url.rstrip("/")

    def rules(self) -> rules.Rules:
        return rules.Rules(
            validity=timedelta(days=self.validity_days),
            max_sends_per_window=self.max_sends_per_window,
            max_sends_per_day=self.max_sends_per_day,
            sms_countries=tuple(c.strip().upper() for c in self.sms_countries.split(",") if c.strip()),
            reminder_days_before=self.reminder_days_before,
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.model_validate(dict(os.environ))

"""Request and response bodies for districts, users and devices."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import ID_PATTERN, InputModel, RequiredText, is_id, strip_control
from domain.enums import Role

__all__ = ["ID_PATTERN", "InputModel", "RequiredText", "is_id", "strip_control"]

LOGIN_PATTERN = r"^[A-Za-z0-9_.@-]{3,100}$"


class DistrictIn(InputModel):
    name: RequiredText = Field(min_length=1, max_length=100, description="地区名, unique in the organisation")
    code: str | None = Field(default=None, max_length=32, description="The municipality's own code")


class DistrictPatch(InputModel):
    name: RequiredText | None = Field(default=None, min_length=1, max_length=100)
    code: str | None = Field(default=None, max_length=32)


class DistrictOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    code: str | None = None
    # Coverage figures: filled for coordinators only.
    residents: int | None = Field(default=None, description="Residents not ended (coordinators only)")
    watchers: int | None = Field(
        default=None, description="Active commissioners holding it (coordinators only)"
    )


class UserIn(InputModel):
    login: str = Field(pattern=LOGIN_PATTERN, description="Sign-in name: letters, digits, _ . @ -")
    display_name: RequiredText = Field(min_length=1, max_length=100)
    role: Role
    locale: str = Field(default="ja", pattern=r"^(ja|en)$")
    district_ids: list[str] = Field(default_factory=list, max_length=100)


class UserPatch(InputModel):
    display_name: RequiredText | None = Field(default=None, min_length=1, max_length=100)
    role: Role | None = None
    locale: str | None = Field(default=None, pattern=r"^(ja|en)$")
    district_ids: list[str] | None = Field(default=None, max_length=100)
    active: bool | None = Field(
        default=None,
        description="false deactivates the account: refused while the user still has current "
        "assignments of residents still watched (hand them over first); assignments of ended "
        "residents end with it; the user's devices are revoked and told to wipe.",
    )


class UserAdminOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    login: str
    display_name: str
    role: Role
    locale: str
    active: bool
    activated: bool = Field(description="A password has been set")
    activation_expires_at: datetime | None = None
    district_ids: list[str] = []
    current_assignments: int = Field(
        default=0, description="Current assignments of residents still watched (not ended, not deleted)"
    )
    created_at: datetime


class UserCreatedOut(UserAdminOut):
    activation_code: str = Field(description="One-time code to hand to the person; shown only once")


class ActivationCodeOut(BaseModel):
    user_id: str
    activation_code: str = Field(description="One-time code; any earlier code stops working")
    activation_expires_at: datetime


class UserUnlockedOut(BaseModel):
    user_id: str
    counters_cleared: int = Field(
        description="Failed sign-in and activation counters forgotten (0: the person was not slowed)"
    )


class UserUpdatedOut(UserAdminOut):
    devices_revoked: int = Field(default=0, description="Devices cut off by this change (deactivation)")


class DeviceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    client_id: str
    platform: str
    name: str | None = None
    app_version: str | None = None
    has_push_token: bool = False
    last_seen_at: datetime | None = None
    last_sync_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    created_at: datetime


class DeviceRevokedOut(DeviceOut):
    refresh_tokens_revoked: int = 0


class UserPage(BaseModel):
    items: list[UserAdminOut]
    total: int
    page: int
    page_size: int

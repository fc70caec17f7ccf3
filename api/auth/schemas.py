from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import ID_PATTERN, InputModel
from domain.enums import Role

DEVICE_ID_PATTERN = ID_PATTERN


class DeviceIn(InputModel):
    id: str = Field(pattern=DEVICE_ID_PATTERN, description="The app's own id for this installation")
    platform: str = Field(min_length=1, max_length=20, description="android | ios | web | other")
    name: str | None = Field(default=None, max_length=100)
    app_version: str | None = Field(default=None, max_length=40)
    push_token: str | None = Field(default=None, max_length=4096)


class LoginIn(InputModel):
    login: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)
    device: DeviceIn


class RefreshIn(InputModel):
    refresh_token: str = Field(min_length=10, max_length=200)


class ActivateIn(InputModel):
    login: str = Field(min_length=1, max_length=100)
    code: str = Field(min_length=8, max_length=20)
    # The policy (length, common passwords) is checked by the service, answering 422 with the rule.
    password: str = Field(min_length=1, max_length=200)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    org_id: str
    login: str
    display_name: str
    role: Role
    locale: str
    active: bool
    district_ids: list[str] = []


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"  # noqa: S105
    expires_in: int
    user: UserOut

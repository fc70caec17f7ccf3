"""HTTP for districts, users and devices. Thin: the rules are in service.py and domain.access."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Pagination, page_of
from api.organisation import service
from api.organisation.schemas import (
    ID_PATTERN,
    ActivationCodeOut,
    DeviceOut,
    DeviceRevokedOut,
    DistrictIn,
    DistrictOut,
    DistrictPatch,
    UserAdminOut,
    UserCreatedOut,
    UserIn,
    UserPage,
    UserPatch,
    UserUnlockedOut,
    UserUpdatedOut,
)
from domain.access import Principal
from domain.enums import Role
from domain.settings import Settings


class DistrictController(Controller):
    path = "/api/v1/districts"
    tags = ["districts"]

    @get("/", operation_id="listDistricts")
    async def list_districts(
        self, principal: NamedDependency[Principal], db_session: NamedDependency[AsyncSession]
    ) -> list[DistrictOut]:
        """The organisation's districts (地区). Coordinators also get residents and watchers per district."""
        return await service.list_districts(db_session, principal)

    @post("/", status_code=HTTP_201_CREATED, operation_id="createDistrict")
    async def create_district(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[DistrictIn],
    ) -> DistrictOut:
        """Add a district (coordinators). Names are unique within the organisation."""
        return await service.create_district(db_session, principal, data)

    @patch("/{district_id:str}", operation_id="updateDistrict")
    async def update_district(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        district_id: FromPath[str],
        data: JSONBody[DistrictPatch],
    ) -> DistrictOut:
        """Rename a district or change its code (coordinators)."""
        return await service.update_district(db_session, principal, district_id, data)


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["users"]

    @get("/", operation_id="listUsers")
    async def list_users(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        pagination: NamedDependency[Pagination],
        role: FromQuery[Role | None] = None,
        district_id: Annotated[str | None, QueryParameter(pattern=ID_PATTERN)] = None,
        active: FromQuery[bool | None] = None,
        q: Annotated[str | None, QueryParameter(max_length=100, description="name or login")] = None,
    ) -> UserPage:
        """The organisation's users (coordinators), filtered by role, district, active flag or name."""
        items, total = await service.list_users(
            db_session,
            principal,
            role=role,
            district_id=district_id,
            active=active,
            q=q,
            offset=pagination.offset,
            limit=pagination.page_size,
        )
        return UserPage(**page_of(items, total, pagination))

    @post("/", status_code=HTTP_201_CREATED, operation_id="createUser")
    async def create_user(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        data: JSONBody[UserIn],
    ) -> UserCreatedOut:
        """Create a user (coordinators). The response carries a one-time activation code, shown only
        here: hand it to the person, who sets a password with POST /api/v1/auth/activate."""
        return await service.create_user(db_session, principal, settings, data)

    @get("/{user_id:str}", operation_id="getUser")
    async def get_user(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        user_id: FromPath[str],
    ) -> UserAdminOut:
        """One user of the organisation (coordinators)."""
        return await service.read_user(db_session, principal, user_id)

    @patch("/{user_id:str}", operation_id="updateUser")
    async def update_user(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        user_id: FromPath[str],
        data: JSONBody[UserPatch],
    ) -> UserUpdatedOut:
        """Change a user's name, role, locale, districts or active flag (coordinators).

        Deactivating is refused (409) while the user has current assignments of residents still
        watched: hand their residents over first (POST /api/v1/assignments/hand-over); assignments
        of ended residents end with the deactivation. A deactivated user's devices are revoked and
        told to wipe their local data at their next request."""
        return await service.update_user(db_session, principal, user_id, data)

    @post(
        "/{user_id:str}/activation-code", status_code=HTTP_201_CREATED, operation_id="reissueActivationCode"
    )
    async def reissue_code(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user_id: FromPath[str],
    ) -> ActivationCodeOut:
        """Issue a new one-time activation code (coordinators); earlier codes stop working. Also how
        a forgotten password is reset. Refused (409) for a deactivated user: reactivate them first
        (PATCH /api/v1/users/{user_id} with `active: true`)."""
        return await service.reissue_activation_code(db_session, principal, settings, user_id)

    @post("/{user_id:str}/unlock", status_code=HTTP_200_OK, operation_id="unlockUser")
    async def unlock(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        user_id: FromPath[str],
    ) -> UserUnlockedOut:
        """Let a user who is being slowed down after failed sign-ins try again at once, from any
        address (coordinators, own organisation). The password is unchanged; the unlock is audited.
        A forgotten password needs a new activation code instead."""
        return await service.unlock_user(db_session, principal, user_id)

    @get("/{user_id:str}/devices", operation_id="listUserDevices")
    async def list_devices(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        user_id: FromPath[str],
    ) -> list[DeviceOut]:
        """The user's phones, with last sign-in and sync, and whether they are revoked (coordinators)."""
        return await service.list_devices(db_session, principal, user_id)

    @post(
        "/{user_id:str}/devices/{device_id:str}/revoke", status_code=HTTP_200_OK, operation_id="revokeDevice"
    )
    async def revoke_device(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        user_id: FromPath[str],
        device_id: FromPath[str],
    ) -> DeviceRevokedOut:
        """Cut off a lost phone (coordinators): its tokens stop working at once and its next request
        gets 401 with a body telling the app to wipe its local data."""
        return await service.revoke_device(db_session, principal, user_id, device_id)

"""The demo town: 見守り市 (fictional), loaded into an empty database by `mimamori serve --demo`
and `mimamori demo`.

Deterministic: the same seed gives the same people, ids, consents and assignments on every run.
Only dates move: history (past visits and contact notes, consent dates) is placed relative to
`domain.clock.utcnow()` so that the town always looks recently looked after. People come from one
random stream and each resident's history from its own stream, so the day of loading never changes
who lives in the town.

Everything is written through the ORM models, so every syncable row passes the change feed.
All names, addresses and phone numbers are invented (phone numbers use a local exchange starting
with 0, which is never assigned in Japan).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import structlog
from dateutil.rrule import rrulestr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.passwords import hash_secret
from domain.clock import utcnow
from domain.enums import (
    AssignmentRole,
    ConsentRecipient,
    ConsentStatus,
    ContactMethod,
    ContactOutcome,
    HolidayRule,
    Household,
    LegalBasis,
    NoteVisibility,
    PlanStatus,
    ResidentStatus,
    RiskLevel,
    Role,
    SupportField,
    SupportTopic,
    VisitKind,
    VisitStatus,
)
from domain.models import (
    Assignment,
    Consent,
    ContactNote,
    District,
    EmergencyContact,
    LegalBasisRecord,
    Organisation,
    Resident,
    User,
    UserDistrict,
    Visit,
    VisitPlan,
)
from domain.settings import Settings

log = structlog.get_logger("mimamori.demo")

SEED = 3_110  # fixed: the same town every time
TIMEZONE = "Asia/Tokyo"
ORG_NAME = "見守り市（デモ）"
HISTORY_DAYS = 56  # eight weeks of past visits and notes
RESIDENTS_PER_DISTRICT = (110, 100, 90)

DEMO_LOGINS = {
    Role.COORDINATOR: "demo-coordinator",
    Role.COMMISSIONER: "demo-commissioner",
    Role.VOLUNTEER: "demo-volunteer",
}


@dataclass(frozen=True)
class DistrictSpec:
    name: str
    code: str
    towns: tuple[str, ...]
    centre: tuple[float, float]


DISTRICTS = (
    DistrictSpec("桜町地区", "sakuramachi", ("桜町", "本町", "駅前"), (36.3912, 139.0601)),
    DistrictSpec("川辺地区", "kawabe", ("川辺町", "柳原", "舟場"), (36.3795, 139.0788)),
    DistrictSpec("山手地区", "yamate", ("山手町", "緑が丘", "高台"), (36.4051, 139.0453)),
)

# (login, display name, role, district index or None). Volunteers serve a district's area but
# hold no district (only commissioners and coordinators do).
STAFF: tuple[tuple[str, str, Role, int | None], ...] = (
    ("demo-coordinator", "佐藤 美咲", Role.COORDINATOR, None),
    ("demo-coordinator-2", "中村 健一", Role.COORDINATOR, None),
    ("demo-commissioner", "高橋 和子", Role.COMMISSIONER, 0),
    ("demo-commissioner-2", "伊藤 正雄", Role.COMMISSIONER, 0),
    ("demo-commissioner-3", "渡辺 恵子", Role.COMMISSIONER, 1),
    ("demo-commissioner-4", "山本 茂", Role.COMMISSIONER, 1),
    ("demo-commissioner-5", "小林 洋子", Role.COMMISSIONER, 2),
    ("demo-commissioner-6", "加藤 博", Role.COMMISSIONER, 2),
    ("demo-volunteer", "吉田 さくら", Role.VOLUNTEER, 0),
    ("demo-volunteer-2", "山田 翔太", Role.VOLUNTEER, 0),
    ("demo-volunteer-3", "佐々木 明美", Role.VOLUNTEER, 0),
    ("demo-volunteer-4", "山口 大輔", Role.VOLUNTEER, 0),
    ("demo-volunteer-5", "松本 由美", Role.VOLUNTEER, 1),
    ("demo-volunteer-6", "井上 拓也", Role.VOLUNTEER, 1),
    ("demo-volunteer-7", "木村 直子", Role.VOLUNTEER, 1),
    ("demo-volunteer-8", "林 誠", Role.VOLUNTEER, 1),
    ("demo-volunteer-9", "斎藤 千尋", Role.VOLUNTEER, 2),
    ("demo-volunteer-10", "清水 亮", Role.VOLUNTEER, 2),
    ("demo-volunteer-11", "山崎 真理", Role.VOLUNTEER, 2),
    ("demo-volunteer-12", "森 健太", Role.VOLUNTEER, 2),
)

SURNAMES = (
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("斎藤", "サイトウ"),
    ("清水", "シミズ"),
    ("山崎", "ヤマザキ"),
    ("森", "モリ"),
    ("池田", "イケダ"),
    ("橋本", "ハシモト"),
    ("阿部", "アベ"),
    ("石川", "イシカワ"),
    ("前田", "マエダ"),
    ("藤田", "フジタ"),
    ("後藤", "ゴトウ"),
    ("岡田", "オカダ"),
    ("長谷川", "ハセガワ"),
    ("村上", "ムラカミ"),
    ("近藤", "コンドウ"),
    ("石井", "イシイ"),
    ("坂本", "サカモト"),
    ("遠藤", "エンドウ"),
    ("青木", "アオキ"),
    ("藤井", "フジイ"),
    ("西村", "ニシムラ"),
    ("福田", "フクダ"),
    ("太田", "オオタ"),
    ("三浦", "ミウラ"),
    ("原田", "ハラダ"),
    ("松田", "マツダ"),
    ("中島", "ナカジマ"),
)
WOMEN = (
    ("和子", "カズコ"),
    ("幸子", "サチコ"),
    ("節子", "セツコ"),
    ("弘子", "ヒロコ"),
    ("久子", "ヒサコ"),
    ("美代子", "ミヨコ"),
    ("トミ", "トミ"),
    ("ハル", "ハル"),
    ("静江", "シズエ"),
    ("千代", "チヨ"),
    ("文子", "フミコ"),
    ("光子", "ミツコ"),
    ("敏子", "トシコ"),
    ("洋子", "ヨウコ"),
    ("恵子", "ケイコ"),
    ("京子", "キョウコ"),
    ("悦子", "エツコ"),
    ("キヨ", "キヨ"),
    ("富子", "トミコ"),
    ("貞子", "サダコ"),
    ("澄子", "スミコ"),
    ("道子", "ミチコ"),
    ("昭子", "アキコ"),
    ("信子", "ノブコ"),
)
MEN = (
    ("清", "キヨシ"),
    ("茂", "シゲル"),
    ("勇", "イサム"),
    ("博", "ヒロシ"),
    ("進", "ススム"),
    ("実", "ミノル"),
    ("正", "タダシ"),
    ("武", "タケシ"),
    ("昇", "ノボル"),
    ("明", "アキラ"),
    ("三郎", "サブロウ"),
    ("一郎", "イチロウ"),
    ("勝", "マサル"),
    ("弘", "ヒロシ"),
    ("稔", "ミノル"),
    ("修", "オサム"),
    ("隆", "タカシ"),
    ("和夫", "カズオ"),
    ("幸雄", "ユキオ"),
    ("正男", "マサオ"),
)
RELATIONS = ("長男", "長女", "次男", "次女", "姪", "甥", "妹", "弟", "近所の方", "友人")
SUPPORT_NEEDS = (
    "足腰が弱く杖を使用",
    "耳が遠い（大きめの声で）",
    "物忘れが増えている",
    "服薬の声かけが必要",
    "買い物の支援が必要",
    "ゴミ出しが難しい",
    "配食サービス利用（平日昼）",
    "デイサービス利用（火・金）",
    "糖尿病で通院中",
    "心臓に持病あり",
    "視力が弱い",
    "猫を飼っている",
    "夜間の一人歩きに注意",
    "訪問は午前中が希望",
    "玄関のチャイムが故障気味（声をかけて）",
)
PAUSE_REASONS = ("入院中", "ショートステイ利用中", "家族宅に滞在中")
END_REASONS = ("施設入所のため終了", "市外へ転居")
WARNING_SIGNS = (
    "mail_piling_up",
    "lights_on_day_and_night",
    "laundry_left_out",
    "curtains_closed",
    "weight_loss",
    "forgetfulness",
    "untidy_home",
    "low_mood",
)
NOTE_TEXT: dict[ContactOutcome, tuple[str, ...]] = {
    ContactOutcome.MET_WELL: (
        "お元気そうでした。",
        "庭の手入れをされていました。",
        "最近の様子を伺い、変わりないとのこと。",
        "近所の方とお茶をされていました。",
        "食事もきちんと取れているとのこと。",
        "体操教室に通っているそうです。",
    ),
    ContactOutcome.MET_CONCERN: (
        "少し疲れた様子。食欲がないとのこと。",
        "転びそうになったと話されていた。",
        "同じ話を何度か繰り返されていた。",
        "郵便物がたまっていた。",
        "部屋が以前より散らかっている。",
    ),
    ContactOutcome.PHONE_ONLY: (
        "電話で話せました。変わりないとのこと。",
        "電話で体調を確認。通院予定ありとのこと。",
    ),
    ContactOutcome.NO_ANSWER: ("呼び鈴に応答なし。", "不在の様子。電話にも出られず。"),
    ContactOutcome.AWAY: ("ご家族の家に出かけているとのこと（隣の方より）。",),
    ContactOutcome.REFUSED: ("今日は会いたくないとのこと。玄関越しに声は確認。",),
}
RISK_RRULE = {
    RiskLevel.HIGH: "FREQ=WEEKLY;INTERVAL=1;BYDAY={day}",
    RiskLevel.MEDIUM: "FREQ=WEEKLY;INTERVAL=2;BYDAY={day}",
    RiskLevel.LOW: "FREQ=MONTHLY;BYDAY=+{nth}{day}",
}
RISK_WINDOW_DAYS = {RiskLevel.HIGH: 1, RiskLevel.MEDIUM: 2, RiskLevel.LOW: 3}
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR")
CONTACT_OUTCOMES = frozenset(
    {
        ContactOutcome.MET_WELL,
        ContactOutcome.MET_CONCERN,
        ContactOutcome.PHONE_ONLY,
        ContactOutcome.REFUSED,
        ContactOutcome.EMERGENCY,
    }
)


class _Ids:
    """Deterministic uuid4-shaped ids from a seeded stream."""

    def __init__(self, seed: str) -> None:
        self._rng = random.Random(seed)

    def __call__(self) -> str:
        return uuid.UUID(int=self._rng.getrandbits(128), version=4).hex


@dataclass
class _Person:
    """A generated resident and the facts its history needs."""

    resident: Resident
    district: int
    primary: User | None = None
    volunteer: User | None = None
    former_volunteer: User | None = None  # consent withdrawn: the assignment ended
    paused_days_ago: int | None = None


async def load_demo_if_empty(session: AsyncSession, settings: Settings) -> bool:
    """Create the demo town when the database has no organisation. Returns whether it loaded.
    Never in production: the demo accounts' password is published in the README."""
    if settings.is_production:
        raise RuntimeError("demo data is never loaded in production")
    if await session.scalar(select(func.count()).select_from(Organisation)):
        return False
    started = utcnow()
    town = _Town(session, settings)
    await town.build()
    log.info(
        "demo_loaded", residents=len(town.people), seconds=round((utcnow() - started).total_seconds(), 2)
    )
    return True


class _Town:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.rng = random.Random(SEED)
        self.new_id = _Ids(f"{SEED}:ids")
        self.tz = ZoneInfo(TIMEZONE)
        self.now = utcnow()
        self.today = self.now.astimezone(self.tz).date()
        self.holidays = holidays.country_holidays("JP", years=range(self.today.year - 1, self.today.year + 2))
        self.people: list[_Person] = []
        self.staff: dict[str, User] = {}

    # -- organisation and people who watch over ---------------------------------------------

    async def build(self) -> None:
        self.org = Organisation(id=self.new_id(), name=ORG_NAME, timezone=TIMEZONE, locale="ja")
        self.session.add(self.org)
        await self.session.flush()  # no ORM relationships: parents are flushed before children
        self.districts = [
            District(id=self.new_id(), org_id=self.org.id, name=spec.name, code=spec.code)
            for spec in DISTRICTS
        ]
        self.session.add_all(self.districts)
        await self.session.flush()
        password_hash = hash_secret(self.settings.demo_password)  # Argon2 is slow: hash once
        for login, display_name, role, _district in STAFF:
            user = User(
                id=self.new_id(),
                org_id=self.org.id,
                login=login,
                display_name=display_name,
                role=role,
                locale="ja",
                active=True,
                password_hash=password_hash,
                is_demo=True,
            )
            self.staff[login] = user
            self.session.add(user)
        await self.session.flush()
        for login, _name, role, district in STAFF:
            if role == Role.COMMISSIONER and district is not None:
                self.session.add(
                    UserDistrict(
                        org_id=self.org.id,
                        user_id=self.staff[login].id,
                        district_id=self.districts[district].id,
                    )
                )
        self._residents()
        await self.session.flush()
        self._contacts_and_consents()
        self._assignments()
        await self.session.flush()
        plans = self._plans()
        await self.session.flush()
        visits: list[Visit] = []
        for person, person_plans in plans:
            visits.extend(self._history(person, person_plans))
        self.session.add_all(visits)
        await self.session.flush()

    def _watchers(self, role: Role, district: int) -> list[User]:
        return [self.staff[login] for login, _n, r, d in STAFF if r == role and d == district]

    # -- residents --------------------------------------------------------------------------

    def _residents(self) -> None:
        rng = self.rng
        for district_index, count in enumerate(RESIDENTS_PER_DISTRICT):
            spec = DISTRICTS[district_index]
            for _ in range(count):
                surname, surname_kana = rng.choice(SURNAMES)
                woman = rng.random() < 0.65
                given, given_kana = rng.choice(WOMEN if woman else MEN)
                birth_year = (
                    rng.choice(range(1928, 1959)) if rng.random() < 0.6 else rng.choice(range(1935, 1952))
                )
                household = rng.choices(list(Household), weights=(58, 25, 12, 5))[0]
                frailty = (1960 - birth_year) / 32 + (0.3 if household == Household.ALONE else 0)
                risk = rng.choices(
                    (RiskLevel.HIGH, RiskLevel.MEDIUM, RiskLevel.LOW),
                    weights=(10 + 25 * frailty, 45, 45 - 20 * frailty),
                )[0]
                town = rng.choice(spec.towns)
                address = f"見守り市{town}{rng.randint(1, 5)}丁目{rng.randint(1, 30)}-{rng.randint(1, 20)}"
                if rng.random() < 0.15:
                    address += f" {rng.choice(('さくら荘', 'コーポ川辺', 'グリーンハイツ'))}{rng.randint(1, 3)}0{rng.randint(1, 6)}"
                has_location = rng.random() < 0.8
                latitude = round(spec.centre[0] + rng.uniform(-0.008, 0.008), 6) if has_location else None
                longitude = round(spec.centre[1] + rng.uniform(-0.008, 0.008), 6) if has_location else None
                needs = rng.sample(SUPPORT_NEEDS, k=rng.choices((0, 1, 2, 3), weights=(25, 40, 25, 10))[0])
                roll = rng.random()
                status, reason, paused_days = ResidentStatus.ACTIVE, None, None
                if roll < 0.02:
                    status, reason = ResidentStatus.ENDED, rng.choice(END_REASONS)
                elif roll < 0.05:
                    status, reason = ResidentStatus.PAUSED, rng.choice(PAUSE_REASONS)
                    paused_days = rng.randint(3, 20)
                resident = Resident(
                    id=self.new_id(),
                    org_id=self.org.id,
                    district_id=self.districts[district_index].id,
                    name=f"{surname} {given}",
                    kana=f"{surname_kana} {given_kana}",
                    birth_year=birth_year,
                    address=address,
                    latitude=latitude,
                    longitude=longitude,
                    phone=_phone(rng) if rng.random() < 0.85 else None,
                    household=household,
                    risk_level=risk,
                    support_needs="、".join(needs),
                    status=status,
                    status_reason=reason,
                )
                self.people.append(_Person(resident, district_index, paused_days_ago=paused_days))
        self.session.add_all(p.resident for p in self.people)

    def _contacts_and_consents(self) -> None:
        rng = self.rng
        coordinator = self.staff["demo-coordinator"]
        rows: list[Any] = []
        for person in self.people:
            resident = person.resident
            for priority in range(1, rng.choices((0, 1, 2), weights=(20, 60, 20))[0] + 1):
                relation = rng.choice(RELATIONS)
                family = relation not in ("近所の方", "友人")
                surname = (
                    resident.name.split(" ")[0] if family and rng.random() < 0.7 else rng.choice(SURNAMES)[0]
                )
                given = rng.choice(WOMEN if rng.random() < 0.5 else MEN)[0]
                rows.append(
                    EmergencyContact(
                        id=self.new_id(),
                        org_id=self.org.id,
                        resident_id=resident.id,
                        name=f"{surname} {given}",
                        relation=relation,
                        phone=_phone(rng, mobile=True),
                        priority=priority,
                    )
                )

            def consent(
                recipient: ConsentRecipient,
                status: ConsentStatus,
                days_ago: int | None,
                resident: Resident = resident,
                **extra: Any,
            ) -> Consent:
                given_on = self.today - timedelta(days=days_ago) if days_ago is not None else None
                return Consent(
                    id=self.new_id(),
                    org_id=self.org.id,
                    resident_id=resident.id,
                    recipient=recipient,
                    status=status,
                    given_on=given_on,
                    recorded_by=coordinator.id,
                    **extra,
                )

            roll = rng.random()
            given_days = rng.randint(30, 900)
            expiry = (
                {"expires_on": self.today + timedelta(days=rng.randint(200, 1000))}
                if rng.random() < 0.3
                else {}
            )
            if resident.status == ResidentStatus.ENDED:
                rows.append(
                    consent(
                        ConsentRecipient.DISTRICT_COMMISSIONER,
                        ConsentStatus.WITHDRAWN,
                        given_days,
                        purpose="見守り活動のための情報提供（終了に伴い撤回）",
                    )
                )
                continue
            if roll < 0.05:
                # No consent, but on the evacuation-support list: sharing with the commissioner is allowed.
                basis = (
                    LegalBasis.EVACUATION_SUPPORT_LIST
                    if rng.random() < 0.7
                    else LegalBasis.COUNCIL_CONFIDENTIALITY
                )
                rows.append(
                    consent(
                        ConsentRecipient.DISTRICT_COMMISSIONER,
                        ConsentStatus.NOT_GIVEN,
                        None,
                        purpose="本人同意なし（法令に基づく提供）",
                    )
                )
                rows.append(
                    LegalBasisRecord(
                        id=self.new_id(),
                        org_id=self.org.id,
                        resident_id=resident.id,
                        basis=basis,
                        recipient=ConsentRecipient.DISTRICT_COMMISSIONER,
                        note="名簿・協議会の記録による",
                        recorded_by=coordinator.id,
                        recorded_at=self.now - timedelta(days=rng.randint(30, 400)),
                    )
                )
                continue
            purpose = "見守り活動・安否確認のための情報提供"
            rows.append(
                consent(
                    ConsentRecipient.DISTRICT_COMMISSIONER,
                    ConsentStatus.GIVEN,
                    given_days,
                    purpose=purpose,
                    **expiry,
                )
            )
            rows.append(
                consent(ConsentRecipient.COUNCIL_STAFF, ConsentStatus.GIVEN, given_days, purpose=purpose)
            )
            if rng.random() < 0.25:
                rows.append(
                    consent(
                        ConsentRecipient.COMMUNITY_SUPPORT_CENTRE,
                        ConsentStatus.GIVEN,
                        given_days,
                        purpose="介護予防・生活支援の相談",
                    )
                )
            volunteer_roll = rng.random()
            if volunteer_roll < 0.45:
                rows.append(
                    consent(
                        ConsentRecipient.VOLUNTEERS,
                        ConsentStatus.GIVEN,
                        given_days,
                        purpose="ボランティアによる声かけ・配食時の見守り",
                        **expiry,
                    )
                )
                # Residents whose volunteer consent is given get a volunteer backup, mostly.
                if resident.status == ResidentStatus.ACTIVE and rng.random() < 0.8:
                    person.volunteer = rng.choice(self._watchers(Role.VOLUNTEER, person.district))
            elif volunteer_roll < 0.49:
                rows.append(
                    consent(
                        ConsentRecipient.VOLUNTEERS,
                        ConsentStatus.WITHDRAWN,
                        given_days,
                        purpose="ボランティアによる声かけ（本人の申し出により撤回）",
                    )
                )
                if rng.random() < 0.6:
                    person.former_volunteer = rng.choice(self._watchers(Role.VOLUNTEER, person.district))
        self.session.add_all(rows)

    def _assignments(self) -> None:
        rng = self.rng
        coordinator = self.staff["demo-coordinator"]
        rows: list[Assignment] = []
        for person in self.people:
            resident = person.resident
            commissioners = self._watchers(Role.COMMISSIONER, person.district)
            primary = rng.choice(commissioners)
            started = self.now - timedelta(days=rng.randint(60, 700))
            if rng.random() < 0.1:
                # History: handed over from the district's other commissioner (term change).
                previous = next(c for c in commissioners if c is not primary)
                handed_over = started
                started = handed_over - timedelta(days=rng.randint(200, 900))
                rows.append(
                    self._assignment(
                        resident,
                        previous,
                        AssignmentRole.PRIMARY,
                        started,
                        coordinator,
                        ended_at=handed_over,
                        end_reason="担当替え（任期交代）",
                    )
                )
                started = handed_over
            ended = resident.status == ResidentStatus.ENDED
            rows.append(
                self._assignment(
                    resident,
                    primary,
                    AssignmentRole.PRIMARY,
                    started,
                    coordinator,
                    ended_at=self.now - timedelta(days=rng.randint(5, 40)) if ended else None,
                    end_reason=resident.status_reason if ended else None,
                )
            )
            person.primary = None if ended else primary
            if person.volunteer is not None:
                rows.append(
                    self._assignment(
                        resident,
                        person.volunteer,
                        AssignmentRole.BACKUP,
                        self.now - timedelta(days=rng.randint(30, 400)),
                        coordinator,
                    )
                )
            if person.former_volunteer is not None:
                ended_at = self.now - timedelta(days=rng.randint(10, 200))
                rows.append(
                    self._assignment(
                        resident,
                        person.former_volunteer,
                        AssignmentRole.BACKUP,
                        ended_at - timedelta(days=rng.randint(60, 300)),
                        coordinator,
                        ended_at=ended_at,
                        end_reason="ボランティアへの提供同意の撤回",
                    )
                )
        self.session.add_all(rows)

    def _assignment(
        self, resident: Resident, user: User, role: AssignmentRole, started: datetime, by: User, **ended: Any
    ) -> Assignment:
        return Assignment(
            id=self.new_id(),
            org_id=self.org.id,
            resident_id=resident.id,
            user_id=user.id,
            role=role,
            started_at=started,
            created_by=by.id,
            ended_by=by.id if ended.get("ended_at") else None,
            **ended,
        )

    # -- plans and history ------------------------------------------------------------------

    def _plans(self) -> list[tuple[_Person, list[VisitPlan]]]:
        rng = self.rng
        coordinator = self.staff["demo-coordinator"]
        result: list[tuple[_Person, list[VisitPlan]]] = []
        plans: list[VisitPlan] = []
        for person in self.people:
            resident = person.resident
            if person.primary is None:
                continue
            risk = RiskLevel(resident.risk_level)
            rule = RISK_RRULE[risk].format(day=rng.choice(WEEKDAYS), nth=rng.randint(1, 4))
            start_offset = rng.randint(HISTORY_DAYS, HISTORY_DAYS + 120)
            paused = resident.status == ResidentStatus.PAUSED
            own = [
                VisitPlan(
                    id=self.new_id(),
                    org_id=self.org.id,
                    resident_id=resident.id,
                    assignee_id=person.primary.id,
                    rrule=rule,
                    starts_on=self.today - timedelta(days=start_offset),
                    window_start=time(9, 0),
                    window_end=time(17, 0),
                    window_days=RISK_WINDOW_DAYS[risk],
                    preferred_time=time(rng.choice((9, 10, 11, 13, 14, 15)), rng.choice((0, 30))),
                    holiday_rule=HolidayRule.SKIP if rng.random() < 0.1 else HolidayRule.SHIFT,
                    status=PlanStatus.PAUSED if paused else PlanStatus.ACTIVE,
                    paused_reason=resident.status_reason if paused else None,
                    expanded_until=self.today - timedelta(days=1),
                    created_by=coordinator.id,
                )
            ]
            if person.volunteer is not None:
                own.append(
                    VisitPlan(
                        id=self.new_id(),
                        org_id=self.org.id,
                        resident_id=resident.id,
                        assignee_id=person.volunteer.id,
                        rrule=f"FREQ=WEEKLY;INTERVAL=2;BYDAY={rng.choice(WEEKDAYS)}",
                        starts_on=self.today - timedelta(days=start_offset),
                        window_start=time(10, 0),
                        window_end=time(16, 0),
                        window_days=2,
                        preferred_time=time(11, 0),
                        holiday_rule=HolidayRule.SHIFT,
                        status=PlanStatus.ACTIVE,
                        expanded_until=self.today - timedelta(days=1),
                        created_by=coordinator.id,
                    )
                )
            plans.extend(own)
            result.append((person, own))
        self.session.add_all(plans)
        return result

    def _occurrences(self, plan: VisitPlan, since: date) -> list[tuple[date, date]]:
        """(occurrence date, visit date) for past occurrences, with the holiday rule applied."""
        start = datetime.combine(plan.starts_on, time(0, 0))
        until = datetime.combine(self.today - timedelta(days=1), time(0, 0))
        result = []
        for moment in rrulestr(plan.rrule, dtstart=start).between(start, until, inc=True):
            day = moment.date()
            if day < since:
                continue
            visit_day = day
            if day in self.holidays:
                if plan.holiday_rule == HolidayRule.SKIP:
                    continue
                if plan.holiday_rule == HolidayRule.SHIFT:
                    while visit_day in self.holidays or visit_day.weekday() >= 5:
                        visit_day += timedelta(days=1)
            if visit_day < self.today:
                result.append((day, visit_day))
        return result

    def _local(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=self.tz).astimezone(UTC)

    def _history(self, person: _Person, plans: list[VisitPlan]) -> list[Visit]:
        """Past visits (done, missed, a few not yet reported) with their contact notes, and some
        contacts outside any plan (meeting place, meal delivery, sensor)."""
        resident = person.resident
        rng = random.Random(f"{SEED}:history:{resident.id}")
        new_id = _Ids(f"{SEED}:history-ids:{resident.id}")
        since = self.today - timedelta(days=HISTORY_DAYS)
        if person.paused_days_ago is not None:
            until = self.today - timedelta(days=person.paused_days_ago)
        else:
            until = self.today
        visits: list[Visit] = []
        notes: list[ContactNote] = []
        risk = RiskLevel(resident.risk_level)
        for plan in plans:
            author = self.staff_by_id(plan.assignee_id)
            for occurrence, day in self._occurrences(plan, since):
                if day >= until:
                    continue
                due_start = self._local(day, plan.window_start)
                due_end = self._local(day + timedelta(days=plan.window_days - 1), plan.window_end)
                visit = Visit(
                    id=new_id(),
                    org_id=self.org.id,
                    plan_id=plan.id,
                    occurrence_key=occurrence.isoformat(),
                    kind=VisitKind.PLANNED,
                    resident_id=resident.id,
                    assignee_id=author.id,
                    due_start=due_start,
                    due_end=due_end,
                    status=VisitStatus.PLANNED,
                )
                visits.append(visit)
                closed_hours_ago = (self.now - due_end).total_seconds() / 3600
                if closed_hours_ago < 0:
                    continue  # window still open: planned
                if closed_hours_ago < 36 and rng.random() < 0.2:
                    continue  # not reported yet: the missed-contact job will ask
                if rng.random() < (0.1 if risk == RiskLevel.HIGH else 0.06):
                    visit.status = VisitStatus.MISSED
                    continue
                note = self._note(rng, new_id, resident, author, due_start, due_end, risk, visit)
                notes.append(note)
                visit.status = VisitStatus.DONE
                visit.fulfilled_by_note_id = note.id
                visit.completed_at = note.occurred_at
                if note.outcome == ContactOutcome.NO_ANSWER:
                    # No answer asks for a revisit within 48 h; it happened the next day.
                    revisit_start = note.occurred_at + timedelta(hours=20)
                    if revisit_start < self.now - timedelta(hours=6):
                        revisit = Visit(
                            id=new_id(),
                            org_id=self.org.id,
                            plan_id=None,
                            occurrence_key=f"revisit:{note.id}",
                            kind=VisitKind.REVISIT,
                            resident_id=resident.id,
                            assignee_id=author.id,
                            due_start=revisit_start,
                            due_end=note.occurred_at + timedelta(hours=48),
                            status=VisitStatus.PLANNED,
                        )
                        follow = self._note(
                            rng,
                            new_id,
                            resident,
                            author,
                            revisit_start,
                            revisit_start + timedelta(hours=4),
                            risk,
                            revisit,
                            met=True,
                        )
                        revisit.status, revisit.fulfilled_by_note_id = VisitStatus.DONE, follow.id
                        revisit.completed_at = follow.occurred_at
                        visits.append(revisit)
                        notes.append(follow)
        # Contact outside any plan: every kind of contact counts.
        if rng.random() < 0.35 and person.primary is not None:
            author = person.volunteer or person.primary
            at_day = self.today - timedelta(days=rng.randint(1, HISTORY_DAYS))
            if at_day < until:
                start = self._local(at_day, time(10, 0))
                note = self._note(
                    rng,
                    new_id,
                    resident,
                    author,
                    start,
                    start + timedelta(hours=5),
                    risk,
                    None,
                    met=True,
                    method=rng.choice(
                        (ContactMethod.MEETING_PLACE, ContactMethod.MEAL_DELIVERY, ContactMethod.SENSOR)
                    ),
                )
                notes.append(note)
        self.session.add_all(notes)
        contacts = [n.occurred_at for n in notes if n.outcome in CONTACT_OUTCOMES]
        resident.last_contact_at = max(contacts) if contacts else None
        return visits

    def staff_by_id(self, user_id: str | None) -> User:
        return next(u for u in self.staff.values() if u.id == user_id)

    def _note(
        self,
        rng: random.Random,
        new_id: _Ids,
        resident: Resident,
        author: User,
        start: datetime,
        end: datetime,
        risk: RiskLevel,
        visit: Visit | None,
        *,
        met: bool = False,
        method: ContactMethod | None = None,
    ) -> ContactNote:
        volunteer = author.role == Role.VOLUNTEER
        if method is None:
            choices = (
                (
                    (ContactMethod.HOME_VISIT, 55),
                    (ContactMethod.MEAL_DELIVERY, 25),
                    (ContactMethod.MESSAGE, 20),
                )
                if volunteer
                else (
                    (ContactMethod.HOME_VISIT, 75),
                    (ContactMethod.PHONE, 20),
                    (ContactMethod.MEETING_PLACE, 5),
                )
            )
            method = rng.choices([m for m, _ in choices], weights=[w for _, w in choices])[0]
        if method in (ContactMethod.PHONE, ContactMethod.MESSAGE):
            reached = met or rng.random() < 0.9
            outcome = ContactOutcome.PHONE_ONLY if reached else ContactOutcome.NO_ANSWER
        elif met or method == ContactMethod.SENSOR:
            outcome = ContactOutcome.MET_WELL if rng.random() < 0.85 else ContactOutcome.MET_CONCERN
        else:
            concern = 25 if risk == RiskLevel.HIGH else 10
            outcome = rng.choices(
                (
                    ContactOutcome.MET_WELL,
                    ContactOutcome.MET_CONCERN,
                    ContactOutcome.NO_ANSWER,
                    ContactOutcome.AWAY,
                    ContactOutcome.REFUSED,
                ),
                weights=(85 - concern, concern, 7, 2, 1),
            )[0]
        if method == ContactMethod.SENSOR:
            body = "見守りセンサーで日中の活動を確認。"
        elif method == ContactMethod.MEETING_PLACE:
            body = "地域のサロン（居場所）でお会いした。" + rng.choice(NOTE_TEXT[outcome])
        else:
            body = rng.choice(NOTE_TEXT.get(outcome, ("",)))
        signs: list[str] = []
        if outcome in (ContactOutcome.MET_CONCERN, ContactOutcome.NO_ANSWER) and rng.random() < 0.6:
            signs = rng.sample(WARNING_SIGNS, k=rng.randint(1, 2))
        wellbeing = None
        if outcome in (ContactOutcome.MET_WELL, ContactOutcome.MET_CONCERN) and rng.random() < 0.15:
            # The 3-item UCLA loneliness scale (1 = hardly ever … 3 = often), as in the national survey.
            answers = [rng.randint(1, 3) for _ in range(3)]
            wellbeing = {"scale": "ucla3", "answers": answers, "score": sum(answers)}
        span = max(int((end - start).total_seconds() // 60) - 30, 1)
        occurred = start + timedelta(minutes=rng.randint(0, min(span, 6 * 60)))
        received = occurred + timedelta(minutes=rng.choice((2, 5, 15, 60, 240, 600)))
        concern = outcome == ContactOutcome.MET_CONCERN
        note_id = new_id()
        support_field, support_topic = _consultation(note_id, author, outcome)
        return ContactNote(
            id=note_id,
            support_field=support_field,
            support_topic=support_topic,
            org_id=self.org.id,
            resident_id=resident.id,
            visit_id=visit.id if visit else None,
            author_id=author.id,
            method=method,
            outcome=outcome,
            warning_signs=signs,
            wellbeing=wellbeing,
            follow_up_needed=concern or outcome == ContactOutcome.NO_ANSWER,
            referral="地域包括支援センターに相談" if concern and rng.random() < 0.2 else None,
            body=body,
            visibility=NoteVisibility.RESTRICTED if concern and rng.random() < 0.2 else NoteVisibility.TEAM,
            occurred_at=occurred,
            received_at=min(received, self.now),
        )


# What a commissioner's conversation turned into a consultation (相談・支援) was about, so that the
# demo's monthly activity record has figures in every field: mostly older people's matters.
CONSULTATIONS: tuple[tuple[SupportField, SupportTopic, int], ...] = (
    (SupportField.ELDERLY, SupportTopic.LONG_TERM_CARE, 14),
    (SupportField.ELDERLY, SupportTopic.HEALTH, 12),
    (SupportField.ELDERLY, SupportTopic.DAILY_SUPPORT, 12),
    (SupportField.ELDERLY, SupportTopic.HOME_WELFARE, 8),
    (SupportField.ELDERLY, SupportTopic.FAMILY, 6),
    (SupportField.ELDERLY, SupportTopic.LIVING_COSTS, 4),
    (SupportField.ELDERLY, SupportTopic.HOUSING, 3),
    (SupportField.DISABLED, SupportTopic.HEALTH, 3),
    (SupportField.DISABLED, SupportTopic.DAILY_SUPPORT, 2),
    (SupportField.CHILDREN, SupportTopic.CHILD_REARING, 2),
    (SupportField.CHILDREN, SupportTopic.CHILD_EDUCATION, 1),
    (SupportField.OTHER, SupportTopic.LIVING_ENVIRONMENT, 3),
    (SupportField.OTHER, SupportTopic.OTHER, 2),
)


def _consultation(
    note_id: str, author: User, outcome: ContactOutcome
) -> tuple[SupportField | None, SupportTopic | None]:
    """A commissioner's note that met the person is a consultation about one time in three (more
    often when there was a concern). Its own random stream, seeded by the note, so the rest of the
    town is the same as before notes carried a field."""
    if author.role != Role.COMMISSIONER or outcome not in (
        ContactOutcome.MET_WELL,
        ContactOutcome.MET_CONCERN,
        ContactOutcome.PHONE_ONLY,
    ):
        return None, None
    rng = random.Random(f"{SEED}:consultation:{note_id}")
    if rng.random() >= (0.6 if outcome == ContactOutcome.MET_CONCERN else 0.3):
        return None, None
    field, topic, _ = rng.choices(CONSULTATIONS, weights=[w for *_, w in CONSULTATIONS])[0]
    return field, topic


def _phone(rng: random.Random, *, mobile: bool = False) -> str:
    """Invented numbers: the local part starts with 0, which Japan never assigns."""
    if mobile:
        return f"090-0{rng.randint(100, 999)}-{rng.randint(0, 9999):04d}"
    return f"027-0{rng.randint(10, 99)}-{rng.randint(0, 9999):04d}"

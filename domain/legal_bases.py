"""The legal bases that allow sharing a resident without their consent: a fixed, documented list.

A legal basis is never a flag on a consent (a withdrawal withdraws): it is a record of its own
(`domain.models.LegalBasisRecord`: resident, basis, recipient kind, who recorded it, when), and
each basis names the recipient kinds it can cover. Recording a basis for a recipient it does not
cover is refused. The full rule set, in Japanese and English, is in docs/privacy.md.

Why these recipients:

* **Council confidentiality** (孤独・孤立対策推進法 第15条〜第18条, in force April 2024): the members
  of a regional council on loneliness and isolation (孤独・孤立対策地域協議会) exchange what they
  need to support a person (第16条), and everybody engaged in the council's affairs is bound to
  confidentiality under penalty (第18条). The council's members are organisations and
  office holders: the municipality's or the social welfare council's staff (council_staff),
  district commissioners (民生委員, themselves bound by 民生委員法 第15条), partner NPOs that joined
  the council, and the community general support centre (地域包括支援センター). Individual
  volunteers are not members and carry no statutory duty of confidentiality: they are not covered.
* **Evacuation support list** (避難行動要支援者名簿, 災害対策基本法 第49条の10〜第49条の13): the
  municipality hands the list to the evacuation support people (避難支援等関係者) that its regional
  disaster prevention plan names — in ordinary times only where its ordinance provides so — and they
  are bound to confidentiality (第49条の13). The recipients a municipality names that this service
  knows are district commissioners, the social welfare council / municipal staff (council_staff) and
  the community general support centre. Volunteers and NPOs are not named as such (a municipality
  that names a specific group records consent for it instead); the list is not covered for them.

Coordinators' own access does not rest on either: it rests on the municipality's own duty of
watching over its residents (see docs/privacy.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from domain.enums import ConsentRecipient, LegalBasis


@dataclass(frozen=True)
class LegalBasisRule:
    basis: LegalBasis
    law: dict[str, str]  # ja / en: the statute and articles
    label: dict[str, str]  # ja / en
    covers: frozenset[ConsentRecipient]


LEGAL_BASES: dict[LegalBasis, LegalBasisRule] = {
    LegalBasis.COUNCIL_CONFIDENTIALITY: LegalBasisRule(
        basis=LegalBasis.COUNCIL_CONFIDENTIALITY,
        law={
            "ja": "孤独・孤立対策推進法 第15条〜第18条（孤独・孤立対策地域協議会・秘密保持義務）",
            "en": "Act on the Promotion of Measures against Loneliness and Isolation (2024), "
            "arts. 15-18: regional council, duty of confidentiality",
        },
        label={
            "ja": "孤独・孤立対策地域協議会（守秘義務）",
            "en": "Regional council on loneliness and isolation",
        },
        covers=frozenset(
            {
                ConsentRecipient.DISTRICT_COMMISSIONER,
                ConsentRecipient.COUNCIL_STAFF,
                ConsentRecipient.PARTNER_NPO,
                ConsentRecipient.COMMUNITY_SUPPORT_CENTRE,
            }
        ),
    ),
    LegalBasis.EVACUATION_SUPPORT_LIST: LegalBasisRule(
        basis=LegalBasis.EVACUATION_SUPPORT_LIST,
        law={
            "ja": "災害対策基本法 第49条の10〜第49条の13（避難行動要支援者名簿）",
            "en": "Disaster Countermeasures Basic Act, arts. 49-10 to 49-13: list of persons "
            "requiring assistance in evacuation",
        },
        label={"ja": "避難行動要支援者名簿", "en": "Evacuation support list"},
        covers=frozenset(
            {
                ConsentRecipient.DISTRICT_COMMISSIONER,
                ConsentRecipient.COUNCIL_STAFF,
                ConsentRecipient.COMMUNITY_SUPPORT_CENTRE,
            }
        ),
    ),
}
assert set(LEGAL_BASES) == set(LegalBasis), "every legal basis needs its rule"


def basis_covers(basis: LegalBasis | str, recipient: ConsentRecipient | str) -> bool:
    rule = LEGAL_BASES.get(LegalBasis(basis)) if basis in set(LegalBasis) else None
    return rule is not None and recipient in rule.covers


@cache
def bases_for_recipient(recipient: ConsentRecipient) -> tuple[LegalBasis, ...]:
    """The bases that can cover `recipient` (empty: only consent shares with it)."""
    return tuple(sorted(b for b, rule in LEGAL_BASES.items() if recipient in rule.covers))

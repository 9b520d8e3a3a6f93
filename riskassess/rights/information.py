"""The information text for children and guardians (GDPR art. 13/14): the current version,
the earlier ones, and saving a new one. Until the municipality saves its own, a default text
is shown, with placeholders in square brackets for what only the municipality knows.

The text is plain text: paragraphs separated by blank lines. It is never read as HTML, so
nothing typed into it can change the page it is shown on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.core import audit
from riskassess.core.db import utcnow
from riskassess.errors import N_, AccessDenied, DomainError, EditConflict
from riskassess.rights import policy
from riskassess.rights.models import InformationText

ACTION = "admin:information_text:update"
MAX_LENGTH = 20_000  # characters in each language

DEFAULT_SV = "\n".join(
    (
        (
            "Den här texten beskriver hur [nämndens namn] i [kommunens namn] behandlar "
            "personuppgifter om barn och ungdomar, och om deras vårdnadshavare, när "
            "socialtjänsten gör en strukturerad riskbedömning. Du har rätt att få den här "
            "informationen enligt dataskyddsförordningen (GDPR, artikel 13 och 14)."
        ),
        "",
        "Vem ansvarar för uppgifterna?",
        (
            "[Nämndens namn] är personuppgiftsansvarig. Kontakt: [adress, telefon, e-post]. "
            "Nämndens dataskyddsombud nås på [dataskyddsombudets kontaktuppgifter]."
        ),
        "",
        "Vilka uppgifter behandlas och varför?",
        (
            "När socialtjänsten utreder ett barns situation kan handläggaren använda ett "
            "bedömningsinstrument (till exempel SAVRY eller EARL) som stöd. Då registreras "
            "barnets namn, personnummer eller samordningsnummer, födelsedatum och kön, "
            "handläggarens bedömning av risk- och skyddsfaktorer med motiveringar, en "
            "sammanfattande bedömning och en plan för insatser. Uppgifterna kan röra hälsa "
            "och misstankar om brott. Bedömningen är ett underlag i utredningen; den beslutar "
            "ingenting själv."
        ),
        "",
        "Vilken rättslig grund gäller?",
        (
            "Behandlingen är nödvändig för att nämnden ska kunna utföra sina uppgifter enligt "
            "socialtjänstlagen och är en del av myndighetsutövning (GDPR artikel 6.1 e). "
            "Känsliga uppgifter, till exempel om hälsa, behandlas för social omsorg (artikel "
            "9.2 h), och uppgifter om lagöverträdelser behandlas med stöd av svensk lag "
            "(artikel 10). Lagen (2001:454) om behandling av personuppgifter inom "
            "socialtjänsten kompletterar förordningen. Uppgifterna omfattas av sekretess "
            "enligt offentlighets- och sekretesslagen."
        ),
        "",
        "Vem kan se uppgifterna?",
        (
            "Bara de handläggare och arbetsledare som arbetar med barnets ärende. Uppgifterna "
            "lagras krypterade, och varje gång någon läser eller ändrar dem loggas det. "
            "Loggarna kontrolleras regelbundet."
        ),
        "",
        "Hur länge sparas uppgifterna?",
        (
            "Uppgifterna gallras (raderas) fem år efter den sista anteckningen i ärendet, "
            "senast vid utgången av året därpå. Uppgifter om barn som är födda den 5, 15 "
            "eller 25 i en månad gallras inte, eftersom lagen kräver att de sparas för "
            "forskning. Uppgifter kan också sparas längre om de behövs i till exempel ett "
            "pågående överklagande."
        ),
        "",
        "Vilka rättigheter har du?",
        (
            "Du har rätt att gratis få ett registerutdrag, det vill säga en kopia av de "
            "uppgifter som finns om dig eller ditt barn. Innan utdraget lämnas ut gör nämnden "
            "en sekretessprövning, så vissa uppgifter kan behöva lämnas ut i begränsad form. "
            "Du har också rätt att begära att felaktiga uppgifter rättas, och i vissa fall "
            "att behandlingen begränsas. Barn har rätt att få information anpassad efter sin "
            "ålder och mognad och att få uttrycka sina åsikter."
        ),
        "",
        (
            "Om du är missnöjd med hur uppgifterna behandlas kan du kontakta nämndens "
            "dataskyddsombud. Du har också rätt att klaga hos Integritetsskyddsmyndigheten "
            "(IMY), www.imy.se."
        ),
        "",
        "Så begär du ett registerutdrag eller en rättelse",
        (
            "Kontakta [enhetens namn och kontaktuppgifter] eller skicka en skriftlig begäran "
            "till [adress]. Uppge vem begäran gäller. Du får svar inom en månad."
        ),
    )
)

DEFAULT_EN = "\n".join(
    (
        (
            "This text explains how [name of the committee] of [name of the municipality] "
            "processes personal data about children and young people, and about their "
            "guardians, when the social services make a structured risk assessment. You have "
            "a right to this information under the General Data Protection Regulation (GDPR, "
            "articles 13 and 14)."
        ),
        "",
        "Who is responsible for the data?",
        (
            "[Name of the committee] is the controller. Contact: [address, telephone, "
            "e-mail]. The committee's data protection officer can be reached at [contact "
            "details of the data protection officer]."
        ),
        "",
        "What data is processed, and why?",
        (
            "When the social services investigate a child's situation, the caseworker may use "
            "an assessment instrument (for example SAVRY or EARL) as support. The system then "
            "records the child's name, personal identity number or coordination number, date "
            "of birth and sex, the caseworker's assessment of risk and protective factors "
            "with reasons, an overall judgement and a plan of interventions. The data may "
            "concern health and suspected offences. The assessment is one input to the "
            "investigation; it decides nothing by itself."
        ),
        "",
        "What is the legal basis?",
        (
            "The processing is necessary for the committee to carry out its tasks under the "
            "Social Services Act and is part of the exercise of official authority (GDPR "
            "article 6(1)(e)). Sensitive data, such as data about health, is processed for "
            "social care (article 9(2)(h)), and data about offences is processed as Swedish "
            "law allows (article 10). The Act on the Processing of Personal Data in the "
            "Social Services (2001:454) supplements the Regulation. The data is covered by "
            "secrecy under the Public Access to Information and Secrecy Act."
        ),
        "",
        "Who can see the data?",
        (
            "Only the caseworkers and supervisors who work on the child's case. The data is "
            "stored encrypted, and every time someone reads or changes it, this is logged. "
            "The logs are checked regularly."
        ),
        "",
        "How long is the data kept?",
        (
            "The data is deleted (gallring) five years after the last entry in the case, at "
            "the latest by the end of the following year. Data about children born on the "
            "5th, 15th or 25th of a month is not deleted, because the law requires it to be "
            "kept for research. Data may also be kept longer when it is needed, for example "
            "in a pending appeal."
        ),
        "",
        "What are your rights?",
        (
            "You have a right to a free register extract: a copy of the data held about you "
            "or your child. Before the extract is handed out, the committee makes a secrecy "
            "review, so some data may be handed out only in part. You also have a right to "
            "have incorrect data corrected and, in some cases, to have the processing "
            "restricted. Children have a right to information suited to their age and "
            "maturity, and to express their views."
        ),
        "",
        (
            "If you are not satisfied with how the data is processed, you can contact the "
            "committee's data protection officer. You also have a right to complain to the "
            "Swedish Authority for Privacy Protection (IMY), www.imy.se."
        ),
        "",
        "How to ask for a register extract or a correction",
        (
            "Contact [name and contact details of the unit] or send a written request to "
            "[address]. Say whom the request concerns. You will get an answer within one "
            "month."
        ),
    )
)


@dataclass(frozen=True)
class ShownText:
    version: int | None  # None: the default text, never saved
    body_sv: str
    body_en: str
    created_by: str | None
    created_dt: datetime | None

    def body(self, locale: str) -> str:
        return self.body_en if locale == "en" else self.body_sv


@dataclass(frozen=True)
class VersionLine:
    version: int
    created_by: str
    created_dt: datetime


def paragraphs(text: str) -> list[list[str]]:
    """Paragraphs (separated by blank lines), each a list of its lines, for the template to
    render with escaping."""
    found: list[list[str]] = []
    current: list[str] = []
    for line in text.split("\n"):
        if line.strip():
            current.append(line.rstrip())
        elif current:
            found.append(current)
            current = []
    if current:
        found.append(current)
    return found


def _shown(session: Session, row: InformationText) -> ShownText:
    name = session.scalar(select(User.display_name).where(User.id == row.created_by_id))
    return ShownText(row.version, row.body_sv, row.body_en, name, row.created_dt)


def current_text(session: Session) -> ShownText:
    """The newest saved version, or the default text."""
    row = session.scalar(select(InformationText).order_by(InformationText.version.desc()).limit(1))
    if row is None:
        return ShownText(None, DEFAULT_SV, DEFAULT_EN, None, None)
    return _shown(session, row)


def text_version(session: Session, version: int) -> ShownText | None:
    row = session.get(InformationText, version)
    return None if row is None else _shown(session, row)


def versions(session: Session) -> list[VersionLine]:
    """Every saved version, newest first, with who saved it and when."""
    rows = session.execute(
        select(InformationText.version, User.display_name, InformationText.created_dt)
        .join(User, User.id == InformationText.created_by_id)
        .order_by(InformationText.version.desc())
    ).all()
    return [VersionLine(v, name, at) for v, name, at in rows]


def _clean(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip()


def save_text(
    session: Session, user: User, body_sv: str, body_en: str, based_on: int | None
) -> InformationText:
    """Save a new version. `based_on` is the version the editor started from (None: the
    default text); if someone saved another meanwhile, nothing is saved (no silent overwrite).
    Audited with the version number only."""
    if not policy.can_edit_information_text(user):
        audit.append_denial(session, user.as_actor(), ACTION, "information_text", None)
        raise AccessDenied(N_("You may not edit the information text."))
    body_sv, body_en = _clean(body_sv), _clean(body_en)
    if not body_sv or not body_en:
        raise DomainError(N_("Write the text in both Swedish and English."))
    if len(body_sv) > MAX_LENGTH or len(body_en) > MAX_LENGTH:
        raise DomainError(N_("The text is too long."))
    latest = session.scalar(select(func.max(InformationText.version)))
    if latest != based_on:
        raise EditConflict(
            N_("Someone saved a new version meanwhile. Nothing was saved: start from that one.")
        )
    current = current_text(session)
    if (body_sv, body_en) == (_clean(current.body_sv), _clean(current.body_en)):
        raise DomainError(N_("Nothing was changed."))
    row = InformationText(
        version=(latest or 0) + 1,
        body_sv=body_sv,
        body_en=body_en,
        created_by_id=user.id,
        created_dt=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # another save took the same number at the same moment
        raise EditConflict(
            N_("Someone saved a new version meanwhile. Nothing was saved: start from that one.")
        ) from None
    audit.append(
        session,
        user.as_actor(),
        ACTION,
        object_type="information_text",
        object_id=row.version,
        details={"version": row.version},
    )
    return row

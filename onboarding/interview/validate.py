"""Validation by the libraries made for it: libphonenumber (`phonenumbers`), `email-validator` and the public
suffix list (`publicsuffixlist`, its copy in the package: nothing is fetched).

A value the normaliser assembled from speech is only stored when the library accepts it; otherwise the caller
is asked again with the reason ("that number looks a digit short"), never left with a stored guess. Email
checks are syntax and a real domain ending (no DNS, no deliverability: the product runs offline).
"""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import NumberParseException, ValidationResult
from publicsuffixlist import PublicSuffixList

DEFAULT_REGION = "US"
# loaded once at import (≈ 0.2 s, 2 MB): in the worker's forkserver, so every call process shares it
_PUBLIC_SUFFIXES = PublicSuffixList()

_LENGTH_REASONS = {
    ValidationResult.TOO_SHORT: "That number looks a digit or more short.",
    ValidationResult.INVALID_LENGTH: "That number has the wrong number of digits.",
    ValidationResult.TOO_LONG: "That number looks a digit or more too long.",
    ValidationResult.INVALID_COUNTRY_CODE: "I don't recognise that country code.",
}


def phone_number(digits: str, international: bool, region: str = DEFAULT_REGION) -> str | None:
    """E.164 ("+14155550132") when libphonenumber calls the number valid for its country, else None.

    `digits` as heard; `international`: the caller said "plus" (or 00), so the digits start with a country code.
    """
    try:
        parsed = phonenumbers.parse(("+" if international else "") + digits, None if international else region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def phone_problem(digits: str, international: bool, region: str = DEFAULT_REGION) -> str:
    """Why `digits` is no valid number, in a sentence for the caller."""
    if not digits:
        return "I didn't hear any digits."
    try:
        parsed = phonenumbers.parse(("+" if international else "") + digits, None if international else region)
    except NumberParseException:
        return "That doesn't sound like a phone number."
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    if reason in _LENGTH_REASONS:
        return _LENGTH_REASONS[reason]
    return "That number doesn't exist in its country's numbering plan."


def email_address(candidate: str, *, endings: bool = True) -> str | None:
    """The address if its syntax (and, with `endings`, its domain's ending) is valid (lowercased), else None."""
    return None if email_problem(candidate, endings=endings) else candidate.lower()


def email_problem(candidate: str, *, endings: bool = True) -> str | None:
    """Why `candidate` is no valid address (email-validator's words, or an ending no domain has), or None."""
    try:
        validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    if endings and (ending := unknown_domain_ending(candidate.rpartition("@")[2])):
        return f"No domain ends in .{ending}."
    return None


def unknown_domain_ending(domain: str) -> str | None:
    """The last label of `domain` when the public suffix list knows no such ending (Whisper's "….co.zo" for
    "co dot za", "brightwell.eel" for "dot io"), else None: such an address reaches nobody, so it is heard again."""
    domain = domain.lower().rstrip(".")
    if "." not in domain or _PUBLIC_SUFFIXES.publicsuffix(domain, accept_unknown=False) is not None:
        return None
    return domain.rpartition(".")[2]


# Country domains sold worldwide as brand names ("acme.io", "acme.ai"): they say nothing of where a caller lives
_VANITY_DOMAINS = {"io", "co", "ai", "me", "tv", "ly", "fm", "gg", "sh", "to", "ws", "cc", "la", "so", "vc", "im",
                   "is", "it", "app", "dev", "us"}


def email_region(address: str | None) -> str | None:
    """The country an address's domain names ("….co.uk": GB, "….com.au": AU, "….no": NO), or None for generic and
    brand domains (.com, .io). A number said in national form ("020 7946 0123") is tried in it."""
    domain = (address or "").rpartition("@")[2].lower()
    tld = domain.rpartition(".")[2]
    if not tld or tld in _VANITY_DOMAINS or len(tld) != 2:
        return None
    region = "GB" if tld == "uk" else tld.upper()
    return region if region in phonenumbers.SUPPORTED_REGIONS else None

"""What a round's form says, in one language: built once, rendered as xlsx, HTML and e-mail.

The content comes from the round's frozen items (round_item), never from the
live template, so a form printed late in the round asks what the e-mailed
forms asked.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date

from csat.forms.texts import number_text, period_label, texts


@dataclass(frozen=True)
class FormItem:
    code: str
    label: str
    description: str
    scale_min: float
    scale_max: float
    choices: tuple[str, ...] = ()  # labels in the form's language; empty for a numeric score

    @property
    def scale_text(self) -> str:
        return f"{number_text(self.scale_min)}-{number_text(self.scale_max)}"


@dataclass(frozen=True)
class FormContent:
    language: str
    company: str
    contact: str           # whom customers ask about the survey
    reply_to: str          # the address forms go back to
    period: str
    period_label: str
    due_date: date
    template_version: str
    items: tuple[FormItem, ...]
    scale_min: float       # the scale most items use, named in the instructions
    scale_max: float

    @property
    def words(self) -> dict[str, str]:
        return texts(self.language)

    @property
    def instructions(self) -> str:
        """What to do with the xlsx form."""
        return self._instructions("instructions")

    @property
    def print_instructions(self) -> str:
        """What to do with the printed form."""
        return self._instructions("instructions_print")

    def _instructions(self, key: str) -> str:
        return self.words[key].format(
            low=number_text(self.scale_min), high=number_text(self.scale_max), due=self.due_date.isoformat())

    def item_label(self, item: FormItem) -> str:
        """The label, with the item's own scale when it differs from the one in the instructions."""
        if item.choices or (item.scale_min, item.scale_max) == (self.scale_min, self.scale_max):
            return item.label
        return f"{item.label} ({item.scale_text})"


def _choice_labels(choices_json: str, language: str) -> tuple[str, ...]:
    if not choices_json:
        return ()
    choices = json.loads(choices_json)
    return tuple((choice.get("label_zh") or choice["label_en"]) if language == "zh" else choice["label_en"]
                 for choice in choices)


def build_content(round_, round_items: list[tuple], settings, language: str) -> FormContent:
    """The form of a round in a language, from the round's (RoundItem, code) pairs and the workspace settings."""
    language = "zh" if language == "zh" else "en"
    items = []
    for round_item, code in round_items:
        zh = language == "zh"
        items.append(FormItem(
            code=code,
            label=(round_item.label_zh or round_item.label_en) if zh else round_item.label_en,
            description=(round_item.description_zh or round_item.description_en) if zh else round_item.description_en,
            scale_min=round_item.scale_min, scale_max=round_item.scale_max,
            choices=_choice_labels(round_item.choices, language),
        ))
    numeric_scales = Counter((item.scale_min, item.scale_max) for item in items if not item.choices)
    low, high = numeric_scales.most_common(1)[0][0] if numeric_scales else (0.0, 100.0)
    mail = settings.mail
    return FormContent(
        language=language, company=settings.company.name_for(language), contact=settings.company.contact,
        reply_to=mail.reply_to or mail.sender, period=round_.period,
        period_label=period_label(round_.period, language), due_date=round_.due_date,
        template_version=round_.template_version, items=tuple(items), scale_min=low, scale_max=high,
    )

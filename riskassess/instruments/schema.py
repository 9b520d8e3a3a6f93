"""JSON Schema of the instrument file format, for editors (`riskassess instruments schema`).

The loader's own checks are the authority and give the friendlier messages; a test keeps this
schema in step with them (every shipped file passes it; structurally broken files fail it).
"""

from __future__ import annotations

from typing import Any

_TEXT: dict[str, Any] = {
    "type": "object",
    "required": ["sv", "en"],
    "properties": {
        "sv": {"type": "string", "minLength": 1},
        "en": {"type": "string", "minLength": 1},
    },
    "additionalProperties": False,
}
_CODE = {"type": "string", "pattern": "^[A-Za-z0-9]{1,10}$"}
_KIND = {"enum": ["risk", "protective"]}

INSTRUMENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "riskassess instrument definition",
    "type": "object",
    "required": [
        "schema",
        "id",
        "version",
        "family",
        "source",
        "title",
        "applies",
        "scales",
        "domains",
        "judgement",
    ],
    "additionalProperties": False,
    "properties": {
        "schema": {"const": 1},
        "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,58}$"},
        "version": {"type": "string", "pattern": "^[0-9A-Za-z][0-9A-Za-z.-]{0,19}$"},
        "family": {"type": "string", "minLength": 1},
        "source": {"type": "string", "minLength": 1},
        "unverified": {"type": "boolean"},
        "reassessment_months": {"type": "integer", "minimum": 1, "maximum": 120},
        "title": _TEXT,
        "note": _TEXT,
        "applies": {
            "type": "object",
            "required": ["age_min", "age_max", "sexes"],
            "additionalProperties": False,
            "properties": {
                "age_min": {"type": "integer", "minimum": 0},
                "age_max": {"type": "integer", "minimum": 0},
                "sexes": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"enum": ["female", "male"]},
                    "uniqueItems": True,
                },
            },
        },
        "features": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "critical_flag": {"type": "boolean"},
                "additional_factors": {"type": "boolean"},
            },
        },
        "scales": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {
                "type": "object",
                "required": ["kind", "levels"],
                "additionalProperties": False,
                "properties": {
                    "kind": _KIND,
                    "levels": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["code", "sv", "en"],
                            "additionalProperties": False,
                            "properties": {
                                "code": {"type": "string", "pattern": "^[a-z0-9_-]{1,20}$"},
                                "weight": {"type": "integer"},
                                "sv": {"type": "string", "minLength": 1},
                                "en": {"type": "string", "minLength": 1},
                            },
                        },
                    },
                },
            },
        },
        "domains": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["code", "kind", "title", "items"],
                "additionalProperties": False,
                "properties": {
                    "code": _CODE,
                    "kind": _KIND,
                    "scale": {"type": "string"},
                    "historical": {"type": "boolean"},
                    "title": _TEXT,
                    "items": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["code", "title", "guidance"],
                            "additionalProperties": False,
                            "properties": {
                                "code": _CODE,
                                "title": _TEXT,
                                "guidance": _TEXT,
                                "scale": {"type": "string"},
                            },
                        },
                    },
                },
            },
        },
        "judgement": {
            "type": "object",
            "required": ["title", "scale", "levels"],
            "additionalProperties": False,
            "properties": {
                "title": _TEXT,
                "scale": {"type": "string"},
                "levels": {"type": "array", "minItems": 1, "items": {"type": "string"}},
            },
        },
        "research_index": {
            "type": "object",
            "required": ["title"],
            "additionalProperties": False,
            "properties": {"title": _TEXT},
        },
        "rules": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "kind", "message"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,58}$"},
                    "kind": {"enum": ["judgement_with_items", "max_omitted"]},
                    "message": _TEXT,
                    "when_judgement": {"type": "array", "items": {"type": "string"}},
                    "ratings": {"type": "array", "items": {"type": "string"}},
                    "min_items": {"type": "integer", "minimum": 1},
                    "items": {"type": "array", "items": _CODE},
                    "max": {"type": "integer", "minimum": 0},
                },
            },
        },
    },
}

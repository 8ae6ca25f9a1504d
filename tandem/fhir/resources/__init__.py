"""One module per resource type; importing this package registers them all."""

from tandem.fhir.resources import (  # noqa: F401
    auditevent,
    careplan,
    careteam,
    consent,
    flag,
    observation,
    organization,
    patient,
    practitioner,
    questionnaire,
    questionnaire_response,
)

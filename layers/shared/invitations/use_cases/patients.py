"""The patient record an acceptance created: read it, correct it, leave the patient's thread."""

from invitations.domain import events, rules
from invitations.domain import patient as patients
from invitations.domain.patient import Patient
from invitations.observability import logger
from invitations.ports import UnitOfWork
from invitations.use_cases.base import Clinician, Services, commit_change


def get(services: Services, clinician: Clinician, patient_id: str) -> Patient:
    return rules.own_patient(services.unit_of_work().patients.get(patient_id), clinician.id)


def correct(services: Services, clinician: Clinician, patient_id: str, changes: dict[str, str | None]) -> Patient:
    now = services.clock.now()

    def change(uow: UnitOfWork) -> Patient:
        current = rules.own_patient(uow.patients.get(patient_id), clinician.id)
        return uow.patients.update(patients.correct(current, changes, now), current)

    stored = commit_change(services, change)
    logger.info("patient corrected", extra={"patient_id": patient_id, "fields": sorted(changes)})
    return stored


def leave_thread(services: Services, clinician: Clinician, patient_id: str) -> Patient:
    """Leaving twice changes nothing and raises no second event."""
    now = services.clock.now()

    def change(uow: UnitOfWork) -> Patient:
        current = rules.own_patient(uow.patients.get(patient_id), clinician.id)
        left = patients.leave_thread(current, now)
        if left is None:
            return current
        stored = uow.patients.update(left, current)
        uow.raise_event(events.patient_thread_left(stored, clinician.actor, now))
        logger.info("patient thread left", extra={"patient_id": patient_id})
        return stored

    return commit_change(services, change)

"""The patient record created by an acceptance: read, correct, leave the thread."""

from invitations import runtime
from invitations.http import Router, build_app, current_clinician, json_response, lambda_entry, responses
from invitations.http.presenters.patients import patient_out
from invitations.models.patients import PatientOut
from invitations.models.requests import PatientPatch
from invitations.use_cases import patients

router = Router()


@router.get(
    "/patients/<patient_id>",
    summary="The patient record",
    responses=responses(200, PatientOut, "The patient record", 401, 404, 422),
)
def get_patient(patient_id: str):  # the Response is documented by `responses=`
    return json_response(200, patient_out(patients.get(runtime.services(), current_clinician(router), patient_id)))


@router.patch(
    "/patients/<patient_id>",
    summary="Correct the patient's administrative details",
    responses=responses(200, PatientOut, "The corrected record", 400, 401, 404, 409, 415, 422),
)
def correct_patient(patient_id: str, correction: PatientPatch):  # the Response is documented by `responses=`
    patient = patients.correct(runtime.services(), current_clinician(router), patient_id, correction.changes())
    return json_response(200, patient_out(patient))


@router.post(
    "/patients/<patient_id>/leave",
    summary="Leave the patient thread (again: nothing changes)",
    responses=responses(200, PatientOut, "The record, thread left", 401, 404, 409, 422),
)
def leave_thread(patient_id: str):  # the Response is documented by `responses=`
    patient = patients.leave_thread(runtime.services(), current_clinician(router), patient_id)
    return json_response(200, patient_out(patient))


app = build_app(router)
lambda_handler = lambda_entry(app)

"""Reference for patients, first request GET /patients/{id}: one consistent GetItem, 200 with the
record as a pydantic model (no link: this function never fetches the secret)."""

import ref_base as b
import ref_http as h
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import BaseModel

app = APIGatewayHttpResolver(enable_validation=True)


class PatientOut(BaseModel):
    id: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    invitation_id: str
    thread: str
    created_at: str
    updated_at: str
    left_at: str | None = None


@app.get("/patients/<patient_id>")
def get_patient(patient_id: str):
    key = {"pk": {"S": f"PAT#{patient_id}"}, "sk": {"S": "PAT"}}
    item = b.get(key)
    if not item or b.s(item, "clinician_id") != h.clinician(app):
        return h.not_found()
    fields = ("id", "first_name", "last_name", "email", "phone", "invitation_id", "thread", "created_at", "updated_at")
    return h.json_response(200, PatientOut(**{f: b.s(item, f) for f in fields}, left_at=b.s(item, "left_at")))


lambda_handler = h.entry(app)

"""The use cases, grouped by actor and aggregate. Each loads through a unit of work, applies a
rule of the domain, stages the result and its events, and commits (retried on a lost race):

  base.py          the ports a use case is given (Services), the clinician, the commit loop
  sending.py       send and resend an invitation, and deliver its message
  managing.py      a clinician's own invitation: read, correct, delete
  patient_link.py  the patient's link: view, accept
  patients.py      the patient record: read, correct, leave the thread
  expiry.py        the scheduled expiry
"""

"""The domain in plain Python: no Lambda, no HTTP, no AWS.

rules.py       every rule: the 14 days, the send limit, who may see/correct/resend/delete/accept
invitation.py  the invitation and its transitions
patient.py     the patient record and its transitions
events.py      the event envelope and the domain events
errors.py      what can go wrong, in the domain's words
"""

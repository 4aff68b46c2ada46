"""Domain -> the contract's response models. The only place that decides what a clinician or a
patient is shown (a link only while pending; a patient's page never shows their contact), one
module per resource as in models/, so that a function builds only the answers it gives:

invitations.py   an invitation, a page of them, its history (the clinician's)
patients.py      the patient record
links.py         what the patient's page shows
"""

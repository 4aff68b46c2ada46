"""Adapters: the ports (invitations/ports.py) implemented on AWS. Nothing else imports boto3."""

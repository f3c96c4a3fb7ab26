"""Alerts: tell the team, once and reliably, when a choice changes or a promise is broken.

events (the type catalogue and what an event is about), render (the words), one module per
sink (slack, webhook, alertmanager; registry by name), routing (filters, silences,
maintenance windows, repeats: pure), conditions (SLA burn rate, error budget, failing probes:
pure), sender (claims deliveries from the outbox and sends them). docs/alerts.md says what
each guarantees.
"""

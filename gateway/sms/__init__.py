"""SMS: the outbox and its dispatcher, reminders, incoming keywords, delivery reports
and campaigns. Everything here writes messages into the outbox; only the dispatcher
talks to the aggregator, from the worker, never on a USSD hop."""

"""Voice (IVR) providers: how a call's callback arrives and how our reply is written."""

"""The operator's card applets (installable with :meth:`simsync.card.SimCard.install_applet` or
through the GlobalPlatform card manager). Importing a module here registers its applet class.

* :mod:`.sync` -- the sync applet: asks the handset to synchronise with SYNCHRONIZE
  (:mod:`simsync.stk.synchronize`) from the SIM menu, a timer, an SMS-PP trigger or at power-up.
"""

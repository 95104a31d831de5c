"""simsync: a simulated SIM with an operator-signed sync applet, its provisioning, and SyncML sync.

Subpackages:

* :mod:`simsync.apdu`     -- shared: command/response APDUs, status words, BER-TLV and COMPREHENSION-TLV
* :mod:`simsync.reader`   -- shared: how terminals reach cards (``sim:`` and ``pcsc:`` reader strings)
* :mod:`simsync.card`     -- the security token: a simulated UICC/SIM with its file system and applets
* :mod:`simsync.operator` -- the operator's tools (keys, CAP, GlobalPlatform client, provisioning, server)
* :mod:`simsync.handset`  -- the mobile equipment (terminal) that obeys the card and synchronises DB1
"""

__version__ = "0.1.0"

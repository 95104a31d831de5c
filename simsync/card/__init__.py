"""The simulated UICC/SIM card: ``SimCard.transmit(apdu) -> response`` over an atomically persisted state.

See :mod:`simsync.card.card` for the command set and transport choices, :mod:`simsync.card.codecs`
for the EF content codecs, :mod:`simsync.card.applet` for the applet framework.
"""

from .applet import Applet, AppletContext, register_applet
from .card import DEFAULT_ATR, CardInfo, PinInfo, SimCard
from .codecs import AdnRecord, AppTemplate, Iccid, Imsi, Msisdn, Spn
from .errors import CardCodecError, CardFileError, ProfileError, SwError
from .profile import CardProfile
from .toolkit import Toolkit

__all__ = [
    "DEFAULT_ATR", "AdnRecord", "AppTemplate", "Applet", "AppletContext", "CardCodecError",
    "CardFileError", "CardInfo", "CardProfile", "Iccid", "Imsi", "Msisdn", "PinInfo",
    "ProfileError", "SimCard", "Spn", "SwError", "Toolkit", "register_applet",
]

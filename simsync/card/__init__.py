"""The simulated UICC/SIM card: ``SimCard.transmit(apdu) -> response`` over an atomically persisted state.

    from simsync.card import CardProfile, SimCard, AdnRecord
    card = SimCard.create("my.card", CardProfile.random(phonebook=[("Alice", "+4930123")]))
    card = SimCard.load("my.card")            # CardFileError with a one-line message if unusable
    atr = card.power_on()
    card.transmit(bytes.fromhex("00A4080C047F106F3A"))   # SELECT EF_ADN by path -> 9000
    AdnRecord.decode(record_bytes)             # a READ RECORD's data -> AdnRecord or None (free)

Files: MF 3F00 (EF_DIR 2F00, EF_ICCID 2FE2, EF_ARR 2F06), DF_TELECOM 7F10 (EF_ADN 6F3A,
EF_MSISDN 6F40), ADF_USIM (FID 7FF0, AID A0000000871002...: EF_IMSI 6F07, EF_SPN 6F46, EF_AD 6FAD),
DF_GSM 7F20 (EF_IMSI, EF_SPN). EF_ADN and EF_MSISDN need PIN1 to read and update.

See :mod:`simsync.card.card` for the command set and transport choices, :mod:`simsync.card.codecs`
for the EF content codecs, :mod:`simsync.card.applet` for the applet framework and
:mod:`simsync.card.toolkit` for the toolkit hook.
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

"""Value tables of ETSI TS 102 223 / TS 101 220 used by the CAT codecs (tags, command types)."""

from __future__ import annotations

from enum import IntEnum
from typing import TypeVar

E = TypeVar("E", bound=IntEnum)


def enum_or_int(enum: type[E], value: int) -> E | int:
    """The enum member for ``value`` when there is one, else the plain integer (unknown values
    are kept so that they round-trip)."""
    try:
        return enum(value)
    except ValueError:
        return value


class Tag(IntEnum):
    """COMPREHENSION-TLV tag values (TS 101 220 table 7.23), without the CR bit."""

    COMMAND_DETAILS = 0x01
    DEVICE_IDENTITIES = 0x02
    RESULT = 0x03
    DURATION = 0x04
    ALPHA_IDENTIFIER = 0x05
    ADDRESS = 0x06
    SMS_TPDU = 0x0B
    TEXT_STRING = 0x0D
    TONE = 0x0E
    ITEM = 0x0F
    ITEM_IDENTIFIER = 0x10
    RESPONSE_LENGTH = 0x11
    FILE_LIST = 0x12
    LOCATION_INFORMATION = 0x13
    IMEI = 0x14
    HELP_REQUEST = 0x15
    DEFAULT_TEXT = 0x17
    ITEMS_NEXT_ACTION_INDICATOR = 0x18
    EVENT_LIST = 0x19
    LOCATION_STATUS = 0x1B
    ICON_IDENTIFIER = 0x1E
    ITEM_ICON_IDENTIFIER_LIST = 0x1F
    TIMER_IDENTIFIER = 0x24
    TIMER_VALUE = 0x25
    DATE_TIME_TIME_ZONE = 0x26
    IMMEDIATE_RESPONSE = 0x2B
    LANGUAGE = 0x2D
    AID = 0x2F
    BROWSER_IDENTITY = 0x30
    URL = 0x31
    BEARER = 0x32
    PROVISIONING_FILE_REFERENCE = 0x33
    BROWSER_TERMINATION_CAUSE = 0x34
    ACCESS_TECHNOLOGY = 0x3F
    TEXT_ATTRIBUTE = 0x50
    ITEM_TEXT_ATTRIBUTE_LIST = 0x51
    FRAME_IDENTIFIER = 0x68


class TypeOfCommand(IntEnum):
    """Type of command (TS 102 223 clause 9.4)."""

    REFRESH = 0x01
    MORE_TIME = 0x02
    POLL_INTERVAL = 0x03
    POLLING_OFF = 0x04
    SET_UP_EVENT_LIST = 0x05
    SET_UP_CALL = 0x10
    SEND_SS = 0x11
    SEND_USSD = 0x12
    SEND_SHORT_MESSAGE = 0x13
    SEND_DTMF = 0x14
    LAUNCH_BROWSER = 0x15
    PLAY_TONE = 0x20
    DISPLAY_TEXT = 0x21
    GET_INKEY = 0x22
    GET_INPUT = 0x23
    SELECT_ITEM = 0x24
    SET_UP_MENU = 0x25
    PROVIDE_LOCAL_INFORMATION = 0x26
    TIMER_MANAGEMENT = 0x27
    SET_UP_IDLE_MODE_TEXT = 0x28
    RUN_AT_COMMAND = 0x34
    LANGUAGE_NOTIFICATION = 0x35
    OPEN_CHANNEL = 0x40
    CLOSE_CHANNEL = 0x41
    RECEIVE_DATA = 0x42
    SEND_DATA = 0x43
    GET_CHANNEL_STATUS = 0x44
    END_OF_PROACTIVE_SESSION = 0x81


class DeviceId(IntEnum):
    """Device identities (TS 102 223 8.7)."""

    KEYPAD = 0x01
    DISPLAY = 0x02
    EARPIECE = 0x03
    CARD_READER_0 = 0x10
    CARD_READER_1 = 0x11
    CARD_READER_2 = 0x12
    CARD_READER_3 = 0x13
    CARD_READER_4 = 0x14
    CARD_READER_5 = 0x15
    CARD_READER_6 = 0x16
    CARD_READER_7 = 0x17
    CHANNEL_1 = 0x21
    CHANNEL_2 = 0x22
    CHANNEL_3 = 0x23
    CHANNEL_4 = 0x24
    CHANNEL_5 = 0x25
    CHANNEL_6 = 0x26
    CHANNEL_7 = 0x27
    UICC = 0x81
    TERMINAL = 0x82
    NETWORK = 0x83


class GeneralResult(IntEnum):
    """General result (TS 102 223 8.12; 14, 34, 35, 37 and 39 from TS 31.111)."""

    PERFORMED_SUCCESSFULLY = 0x00
    PERFORMED_WITH_PARTIAL_COMPREHENSION = 0x01
    PERFORMED_WITH_MISSING_INFORMATION = 0x02
    REFRESH_PERFORMED_WITH_ADDITIONAL_EFS_READ = 0x03
    PERFORMED_SUCCESSFULLY_ICON_NOT_DISPLAYED = 0x04
    PERFORMED_BUT_MODIFIED_BY_CALL_CONTROL = 0x05
    PERFORMED_SUCCESSFULLY_LIMITED_SERVICE = 0x06
    PERFORMED_WITH_MODIFICATION = 0x07
    REFRESH_PERFORMED_NAA_NOT_ACTIVE = 0x08
    PERFORMED_SUCCESSFULLY_TONE_NOT_PLAYED = 0x09
    SESSION_TERMINATED_BY_USER = 0x10
    BACKWARD_MOVE_REQUESTED_BY_USER = 0x11
    NO_RESPONSE_FROM_USER = 0x12
    HELP_INFORMATION_REQUIRED_BY_USER = 0x13
    USSD_OR_SS_TRANSACTION_TERMINATED_BY_USER = 0x14
    TERMINAL_CURRENTLY_UNABLE_TO_PROCESS = 0x20
    NETWORK_CURRENTLY_UNABLE_TO_PROCESS = 0x21
    USER_DID_NOT_ACCEPT = 0x22
    USER_CLEARED_DOWN_CALL = 0x23
    ACTION_CONTRADICTS_TIMER_STATE = 0x24
    INTERACTION_WITH_CALL_CONTROL_TEMPORARY = 0x25
    LAUNCH_BROWSER_GENERIC_ERROR = 0x26
    MMS_TEMPORARY_PROBLEM = 0x27
    COMMAND_BEYOND_TERMINAL_CAPABILITIES = 0x30
    COMMAND_TYPE_NOT_UNDERSTOOD = 0x31
    COMMAND_DATA_NOT_UNDERSTOOD = 0x32
    COMMAND_NUMBER_NOT_KNOWN = 0x33
    SS_RETURN_ERROR = 0x34
    SMS_RP_ERROR = 0x35
    REQUIRED_VALUES_MISSING = 0x36
    USSD_RETURN_ERROR = 0x37
    MULTIPLE_CARD_COMMANDS_ERROR = 0x38
    INTERACTION_WITH_CALL_CONTROL_PERMANENT = 0x39
    BEARER_INDEPENDENT_PROTOCOL_ERROR = 0x3A
    ACCESS_TECHNOLOGY_UNABLE_TO_PROCESS = 0x3B
    FRAMES_ERROR = 0x3C
    MMS_ERROR = 0x3D

    @property
    def performed(self) -> bool:
        """'0X': the command was performed (possibly with a qualification)."""
        return self < 0x10

    @property
    def temporary(self) -> bool:
        """'2X': worth retrying later."""
        return 0x20 <= self < 0x30

    @property
    def permanent(self) -> bool:
        """'3X': not worth retrying the identical command."""
        return 0x30 <= self < 0x40


class TerminalProblem(IntEnum):
    """Additional information for result 20 'terminal currently unable to process' (8.12.2)."""

    NO_SPECIFIC_CAUSE = 0x00
    SCREEN_BUSY = 0x01
    BUSY_ON_CALL = 0x02
    BUSY_ON_SS = 0x03
    NO_SERVICE = 0x04
    ACCESS_CONTROL_CLASS_BAR = 0x05
    RADIO_RESOURCE_NOT_GRANTED = 0x06
    NOT_IN_SPEECH_CALL = 0x07
    BUSY_ON_USSD = 0x08
    BUSY_ON_SEND_DTMF = 0x09
    NO_NAA_ACTIVE = 0x10


class TimeUnit(IntEnum):
    """Duration time unit (TS 102 223 8.8)."""

    MINUTES = 0x00
    SECONDS = 0x01
    TENTHS_OF_SECONDS = 0x02


class ToneType(IntEnum):
    """Tone (TS 102 223 8.16)."""

    DIAL = 0x01
    CALLED_SUBSCRIBER_BUSY = 0x02
    CONGESTION = 0x03
    RADIO_PATH_ACKNOWLEDGE = 0x04
    RADIO_PATH_NOT_AVAILABLE = 0x05
    ERROR_SPECIAL_INFORMATION = 0x06
    CALL_WAITING = 0x07
    RINGING = 0x08
    GENERAL_BEEP = 0x10
    POSITIVE_ACKNOWLEDGEMENT = 0x11
    NEGATIVE_ACKNOWLEDGEMENT = 0x12
    RINGING_SPEECH_CALL = 0x13
    ALERT_SMS = 0x14
    CRITICAL_ALERT = 0x15
    VIBRATE_ONLY = 0x20
    HAPPY = 0x30
    SAD = 0x31
    URGENT_ACTION = 0x32
    QUESTION = 0x33
    MESSAGE_RECEIVED = 0x34
    MELODY_1 = 0x40
    MELODY_2 = 0x41
    MELODY_3 = 0x42
    MELODY_4 = 0x43
    MELODY_5 = 0x44
    MELODY_6 = 0x45
    MELODY_7 = 0x46
    MELODY_8 = 0x47


class Event(IntEnum):
    """Event list values (TS 102 223 8.25)."""

    MT_CALL = 0x00
    CALL_CONNECTED = 0x01
    CALL_DISCONNECTED = 0x02
    LOCATION_STATUS = 0x03
    USER_ACTIVITY = 0x04
    IDLE_SCREEN_AVAILABLE = 0x05
    CARD_READER_STATUS = 0x06
    LANGUAGE_SELECTION = 0x07
    BROWSER_TERMINATION = 0x08
    DATA_AVAILABLE = 0x09
    CHANNEL_STATUS = 0x0A
    ACCESS_TECHNOLOGY_CHANGE = 0x0B
    DISPLAY_PARAMETERS_CHANGED = 0x0C
    LOCAL_CONNECTION = 0x0D
    NETWORK_SEARCH_MODE_CHANGE = 0x0E
    BROWSING_STATUS = 0x0F


class BrowserId(IntEnum):
    """Browser identity (TS 102 223 8.47)."""

    DEFAULT = 0x00
    WML = 0x01
    HTML = 0x02
    XHTML = 0x03
    CHTML = 0x04


class BearerType(IntEnum):
    """Bearer list entries for LAUNCH BROWSER (TS 102 223 8.49)."""

    SMS = 0x00
    CSD = 0x01
    USSD = 0x02
    PACKET = 0x03


class ServiceState(IntEnum):
    """Location status values (TS 102 223 8.27)."""

    NORMAL_SERVICE = 0x00
    LIMITED_SERVICE = 0x01
    NO_SERVICE = 0x02


class BrowserTermination(IntEnum):
    """Browser termination cause values (TS 102 223 8.51)."""

    USER = 0x00
    ERROR = 0x01

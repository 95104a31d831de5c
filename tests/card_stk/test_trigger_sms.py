import datetime as dt

from simsync.card.applets.sync import SyncTrigger, trigger_message
from simsync.handset.sms import SmsDeliver


def test_trigger_message_is_a_valid_sms_deliver():
    trigger = SyncTrigger(profile=1, confirm=True)
    sms = SmsDeliver.decode(trigger_message(trigger, originator="+4915100000000"))
    assert sms.user_data == trigger.encode()
    assert sms.originator == "+4915100000000"
    assert sms.pid == 0x7F and sms.dcs == 0xF6
    assert sms.timestamp == dt.datetime(2026, 11, 24, 0, 0, 0)

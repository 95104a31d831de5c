"""STATUS (80 F2, P1 00..02) is the card OS's even when an applet is selected on the channel;
GlobalPlatform GET STATUS (80 F2, P1 80/40/20/10) goes to the selected applet."""

from simsync.apdu import ResponseApdu
from simsync.card import Applet, CardProfile, SimCard, register_applet

PKG = bytes.fromhex("F0000000AA01")
CLS = bytes.fromhex("F0000000AA0101")


@register_applet(PKG, CLS)
class EchoF2(Applet):
    def process(self, apdu, channel):
        if self.selecting(apdu):
            return ResponseApdu(b"", 0x9000)
        return ResponseApdu(b"applet", 0x9000)


def test_status_reaches_the_card_os_with_an_applet_selected():
    card = SimCard.create(None, CardProfile.random())
    card.install_applet(PKG, CLS, CLS)
    assert card.transmit(bytes.fromhex("00A4040007") + CLS)[-2:] == b"\x90\x00"
    status = card.transmit(bytes.fromhex("80F2000000"))
    assert status[0] == 0x6C  # T=0: the card OS answers with the FCP's exact length
    status = card.transmit(bytes.fromhex("80F20000") + status[1:2])
    assert status[-2:] == b"\x90\x00" and status[:1] == b"\x62"  # an FCP template, not the applet's
    assert card.transmit(bytes.fromhex("80F24000024F0000")) == b"\x61\x06"  # case 4 under T=0
    assert card.transmit(bytes.fromhex("00C0000006")) == b"applet\x90\x00"

import subprocess
import sys


def test_bundled_applet_is_live_when_a_fresh_process_loads_the_card(tmp_path):
    """A card file holding a bundled applet must load with the real class, not a dormant stand-in,
    in a process that never imported simsync.card.applets itself (card serve, sim: readers)."""
    path = tmp_path / "a.card"
    make = (
        "import sys\n"
        "from simsync.card import SimCard, CardProfile\n"
        "from simsync.card.applets.sync import SyncApplet\n"
        "with SimCard.create(sys.argv[1], CardProfile.random()) as c:\n"
        "    c.install_applet(SyncApplet.PACKAGE_AID, SyncApplet.CLASS_AID, SyncApplet.CLASS_AID)\n"
    )
    subprocess.run([sys.executable, "-c", make, str(path)], check=True)
    show = (
        "import sys\n"
        "from simsync.card import SimCard\n"
        "c = SimCard.load(sys.argv[1], lock=False)\n"
        "print(sorted(type(a).__name__ for a in c.applets.values()))\n"
    )
    out = subprocess.run([sys.executable, "-c", show, str(path)], check=True, capture_output=True,
                         text=True).stdout
    assert out.strip() == "['SyncApplet']"

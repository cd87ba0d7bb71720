package tracking

import (
	"bytes"
	"strings"
	"testing"
)

func master(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestKeys(t *testing.T) {
	k, err := DeriveKeys(master(1))
	if err != nil {
		t.Fatal(err)
	}
	same, _ := DeriveKeys(master(1))
	other, _ := DeriveKeys(master(2))
	sig := k.Sig("app_1", 42, "r_abc")
	if len(sig) != SigLen || sig != same.Sig("app_1", 42, "r_abc") {
		t.Fatalf("sig %q: want %d characters, the same for the same master key", sig, SigLen)
	}
	if sig == other.Sig("app_1", 42, "r_abc") {
		t.Fatal("another master key signs the same")
	}
	if !k.CheckSig("app_1", 42, "r_abc", sig) {
		t.Fatal("CheckSig refuses its own signature")
	}
	for _, bad := range []struct {
		app string
		msg int64
		rid string
	}{{"app_2", 42, "r_abc"}, {"app_1", 43, "r_abc"}, {"app_1", 42, "r_abd"}, {"app_1|4", 2, "r_abc"}} {
		if k.CheckSig(bad.app, bad.msg, bad.rid, sig) {
			t.Errorf("the signature of (app_1, 42, r_abc) passes for %+v", bad)
		}
	}
	if k.CheckSig("app_1", 42, "r_abc", sig[:SigLen-1]) || k.CheckSig("app_1", 42, "r_abc", "") {
		t.Error("a truncated or empty signature passes")
	}
	dk := k.DeviceKey("app_1", "r_abc")
	if len(dk) != DeviceKeyLen || !k.CheckDeviceKey("app_1", "r_abc", dk) || k.CheckDeviceKey("app_2", "r_abc", dk) || k.CheckDeviceKey("app_1", "r_abd", dk) {
		t.Fatalf("device key %q: want %d characters, valid only for its app and registration", dk, DeviceKeyLen)
	}
	if strings.HasPrefix(k.Sig("app_1", 0, "r_abc"), dk[:10]) {
		t.Error("the device and event keys look alike")
	}
	if _, err := DeriveKeys(make([]byte, 16)); err == nil {
		t.Error("a 16-byte master key was taken")
	}
}

func BenchmarkAppendSig(b *testing.B) {
	k, _ := DeriveKeys(master(1))
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = k.AppendSig(buf[:0], "app_0123456789abcdef", 123456, "r_0123456789012345678901")
	}
}

// devseed gives snapd's daemon a device identity it already holds: the device
// key and serial fixturegen wrote into device/ (issue 13 §4). Run it on the
// daemon's private /var/lib/snapd while the daemon is stopped, after the daemon
// has seeded and `snap ack`ed the brand account, its key, the model and the
// serial (so the daemon itself verified the chain to the test root):
//
//   - the device's private key goes into DIR/device/private-keys-v1/<key-id>,
//     through snapd's own filesystem keypair manager (asserts.OpenFSKeypairManager,
//     where devicestate's withKeypairMgr reads it on a classic or pre-UC20 model);
//   - state.json's data.auth.device becomes {brand, model, serial, key-id} of the
//     serial assertion (overlord/auth DeviceState), so devicestate's
//     ensureOperational sees a registered device and the store context signs
//     device-session-requests with that key.
//
// Usage: devseed -varlib DIR -device DIR
//
// Built by ../devseed.sh with snapd 2.68.3's tree. Ours (test/realclient/local),
// not part of the shared harness.
package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/snapcore/snapd/asserts"
)

// the names fixturegen gives them in device/ (its manifest's "serial-file" and "key")
const (
	serialFile = "serial.serial"
	keyFile    = "device.key"
)

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "devseed: "+format+"\n", a...)
	os.Exit(1)
}

func main() {
	varlib := flag.String("varlib", "", "the daemon's /var/lib/snapd")
	device := flag.String("device", "", "fixturegen's device/ directory")
	flag.Parse()
	if *varlib == "" || *device == "" {
		fail("usage: devseed -varlib DIR -device DIR")
	}
	raw, err := os.ReadFile(filepath.Join(*device, serialFile))
	if err != nil {
		fail("cannot read serial: %v", err)
	}
	a, err := asserts.Decode(raw)
	if err != nil {
		fail("cannot decode %s: %v", serialFile, err)
	}
	serial, ok := a.(*asserts.Serial)
	if !ok {
		fail("cannot use %s: not a serial assertion", serialFile)
	}

	pemBytes, err := os.ReadFile(filepath.Join(*device, keyFile))
	if err != nil {
		fail("cannot read device key: %v", err)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		fail("cannot decode %s: no PEM block", keyFile)
	}
	rsaKey, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		fail("cannot decode %s: %v", keyFile, err)
	}
	priv := asserts.RSAPrivateKey(rsaKey)
	keyID := priv.PublicKey().ID()
	if keyID != serial.DeviceKey().ID() {
		fail("cannot use %s: key %s is not the serial's device key %s", keyFile, keyID, serial.DeviceKey().ID())
	}
	kpm, err := asserts.OpenFSKeypairManager(filepath.Join(*varlib, "device"))
	if err != nil {
		fail("cannot open the device keypair manager: %v", err)
	}
	if _, err := kpm.Get(keyID); err != nil {
		if err := kpm.Put(priv); err != nil {
			fail("cannot store the device key: %v", err)
		}
	}

	statePath := filepath.Join(*varlib, "state.json")
	sraw, err := os.ReadFile(statePath)
	if err != nil {
		fail("cannot read state: %v", err)
	}
	var st map[string]json.RawMessage
	if err := json.Unmarshal(sraw, &st); err != nil {
		fail("cannot decode %s: %v", statePath, err)
	}
	var data map[string]json.RawMessage
	if err := json.Unmarshal(st["data"], &data); err != nil {
		fail("cannot decode %s data: %v", statePath, err)
	}
	var auth map[string]json.RawMessage
	if r, ok := data["auth"]; ok {
		if err := json.Unmarshal(r, &auth); err != nil {
			fail("cannot decode %s data.auth: %v", statePath, err)
		}
	}
	if auth == nil {
		auth = map[string]json.RawMessage{}
	}
	dev, _ := json.Marshal(map[string]string{
		"brand": serial.BrandID(), "model": serial.Model(), "serial": serial.Serial(), "key-id": keyID,
	})
	auth["device"] = dev
	if data["auth"], err = json.Marshal(auth); err != nil {
		fail("%v", err)
	}
	if st["data"], err = json.Marshal(data); err != nil {
		fail("%v", err)
	}
	out, err := json.Marshal(st)
	if err != nil {
		fail("%v", err)
	}
	tmp := statePath + ".devseed"
	if err := os.WriteFile(tmp, out, 0600); err != nil {
		fail("cannot write state: %v", err)
	}
	if err := os.Rename(tmp, statePath); err != nil {
		fail("cannot write state: %v", err)
	}
	fmt.Printf("devseed: %s/%s/%s, key %s\n", serial.BrandID(), serial.Model(), serial.Serial(), keyID)
}

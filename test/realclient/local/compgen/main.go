// compgen writes a small catalogue of a snap with components, for snapshelf's
// component scenarios (issue 13 §3): real squashfs snaps and components packed
// with snapd 2.68.3's snap/pack, their snap-revision, snap-resource-revision and
// snap-resource-pair assertions signed by the test store key (chained to the
// test root "testrootorg" like fixturegen's), and manifest.json.
//
// Usage: compgen -out DIR
//
// It needs snapd 2.68.3's tree (component packing and the two resource
// assertion types are newer than Debian 12's 2.57.6): ../compgen.sh builds it
// with test/realclient/modern/setup.sh's toolchain. Ours (test/realclient/local),
// not part of the shared harness.
package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/snapcore/snapd/asserts"
	"github.com/snapcore/snapd/asserts/assertstest"
	"github.com/snapcore/snapd/asserts/sysdb"
	"github.com/snapcore/snapd/asserts/systestkeys"
	_ "github.com/snapcore/snapd/interfaces/builtin"
	"github.com/snapcore/snapd/snap/pack"
)

const snapName = "comp-offline"

type snapRev struct {
	Rev     int
	Version string
}

type compRev struct {
	Name    string // component name
	Rev     int    // resource revision
	Version string
	Pairs   []int // snap revisions it is paired with
	Stage   int   // which import stage it belongs to
}

// snap revision 1 and 2; "extra" 1 (with snap 1), 2 (also with snap 1: a component-only
// update), 3 (with snap 2); "docs" 1 paired with both snap revisions.
var snapRevs = []snapRev{{1, "1.0"}, {2, "2.0"}}
var snapStage = map[int]int{1: 1, 2: 3}
var compRevs = []compRev{
	{"extra", 1, "1.0", []int{1}, 1},
	{"docs", 1, "1.0", []int{1, 2}, 1},
	{"extra", 2, "1.1", []int{1}, 2},
	{"extra", 3, "2.0", []int{2}, 3},
}

var components = map[string]string{"extra": "standard", "docs": "standard"}

type revJSON struct {
	Revision     int    `json:"revision"`
	Version      string `json:"version"`
	Sha3_384     string `json:"sha3-384"`
	Size         uint64 `json:"size"`
	File         string `json:"file"`
	SnapRevision string `json:"snap-revision"`
	Stage        int    `json:"stage"`
}

type compJSON struct {
	Name             string   `json:"name"`
	Type             string   `json:"type"`
	Revision         int      `json:"revision"`
	Version          string   `json:"version"`
	Sha3_384         string   `json:"sha3-384"`
	Size             uint64   `json:"size"`
	File             string   `json:"file"`
	ResourceRevision string   `json:"snap-resource-revision"`
	ResourcePairs    []string `json:"snap-resource-pairs"`
	SnapRevisions    []int    `json:"snap-revisions"`
	Stage            int      `json:"stage"`
}

type manifest struct {
	Generated       string            `json:"generated"`
	Name            string            `json:"name"`
	SnapID          string            `json:"snap-id"`
	PublisherID     string            `json:"publisher-id"`
	Chain           []string          `json:"chain"` // root account, root key, store key, publisher account
	SnapDeclaration string            `json:"snap-declaration"`
	Revisions       []revJSON         `json:"revisions"`
	Components      []compJSON        `json:"components"`
	Types           map[string]string `json:"component-types"`
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "compgen:", err)
		os.Exit(1)
	}
}

const b62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// idFor: the same deterministic ids as fixturegen's (so the publisher is the same account).
func idFor(kind, name string) string {
	h := sha256.Sum256([]byte("offline-store-harness/" + kind + "/" + name))
	n := new(big.Int).SetBytes(h[:])
	var sb strings.Builder
	base := big.NewInt(62)
	m := new(big.Int)
	for i := 0; i < 32; i++ {
		n.DivMod(n, base, m)
		sb.WriteByte(b62[m.Int64()])
	}
	return sb.String()
}

func b64ToHex(d string) string {
	b, err := base64.RawURLEncoding.DecodeString(d)
	must(err)
	return hex.EncodeToString(b)
}

type signer struct {
	db  *asserts.Database
	out string
}

func (s *signer) sign(t *asserts.AssertionType, headers map[string]interface{}) asserts.Assertion {
	headers["authority-id"] = "testrootorg"
	headers["timestamp"] = time.Now().UTC().Format(time.RFC3339)
	a, err := s.db.Sign(t, headers, nil, systestkeys.TestStoreKeyID)
	must(err)
	must(s.db.Add(a))
	return a
}

func (s *signer) write(a asserts.Assertion) string {
	ref := a.Ref()
	fn := fmt.Sprintf("%s.%s", strings.Join(asserts.ReducePrimaryKey(ref.Type, ref.PrimaryKey), ","), ref.Type.Name)
	rel := filepath.Join("asserts", fn)
	must(os.WriteFile(filepath.Join(s.out, rel), asserts.Encode(a), 0644))
	return rel
}

func payload(seedText string) []byte {
	p := make([]byte, 8*1024)
	seed := sha256.Sum256([]byte(seedText))
	for i := range p {
		if i%32 == 0 {
			seed = sha256.Sum256(seed[:])
		}
		p[i] = seed[i%32]
	}
	return p
}

func writeSnapDir(dir string, r snapRev) {
	must(os.MkdirAll(filepath.Join(dir, "meta"), 0755))
	must(os.MkdirAll(filepath.Join(dir, "bin"), 0755))
	y := fmt.Sprintf("name: %s\nversion: '%s'\nsummary: Snap with components\ndescription: |\n  A snap with components (fixture revision %d).\ntype: app\nbase: core22\narchitectures: [amd64]\nconfinement: strict\ngrade: stable\napps:\n  %s:\n    command: bin/hello\ncomponents:\n",
		snapName, r.Version, r.Rev, snapName)
	for _, n := range []string{"docs", "extra"} {
		y += fmt.Sprintf("  %s:\n    type: %s\n    summary: The %s component\n    description: Component %s of %s.\n", n, components[n], n, n, snapName)
	}
	must(os.WriteFile(filepath.Join(dir, "meta", "snap.yaml"), []byte(y), 0644))
	must(os.WriteFile(filepath.Join(dir, "bin", "hello"), []byte(fmt.Sprintf("#!/bin/sh\necho 'hello from %s %s'\n", snapName, r.Version)), 0755))
	must(os.WriteFile(filepath.Join(dir, "bin", "payload.bin"), payload(fmt.Sprintf("%s-%d", snapName, r.Rev)), 0644))
}

func writeCompDir(dir string, c compRev) {
	must(os.MkdirAll(filepath.Join(dir, "meta"), 0755))
	y := fmt.Sprintf("component: %s+%s\ntype: %s\nversion: '%s'\nsummary: The %s component\ndescription: Component %s of %s, revision %d.\n",
		snapName, c.Name, components[c.Name], c.Version, c.Name, c.Name, snapName, c.Rev)
	must(os.WriteFile(filepath.Join(dir, "meta", "component.yaml"), []byte(y), 0644))
	must(os.WriteFile(filepath.Join(dir, "data.bin"), payload(fmt.Sprintf("%s+%s-%d", snapName, c.Name, c.Rev)), 0644))
}

func main() {
	out := flag.String("out", "", "output directory (its blobs/ and asserts/ are replaced)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: compgen -out DIR")
		os.Exit(2)
	}
	outDir, err := filepath.Abs(*out)
	must(err)
	for _, sub := range []string{"blobs", "asserts", "src"} {
		must(os.RemoveAll(filepath.Join(outDir, sub)))
		must(os.MkdirAll(filepath.Join(outDir, sub), 0755))
	}
	storePrivKey, _ := assertstest.ReadPrivKey(systestkeys.TestStorePrivKey)
	db, err := asserts.OpenDatabase(&asserts.DatabaseConfig{
		KeypairManager: asserts.NewMemoryKeypairManager(),
		Backstore:      asserts.NewMemoryBackstore(),
		Trusted:        sysdb.Trusted(),
	})
	must(err)
	must(db.ImportKey(storePrivKey))
	must(db.Add(systestkeys.TestStoreAccountKey))
	s := &signer{db: db, out: outDir}

	pub := idFor("account", "offline-dev")
	m := &manifest{Generated: time.Now().UTC().Format(time.RFC3339), Name: snapName,
		SnapID: idFor("snap", snapName), PublisherID: pub, Types: components}
	m.Chain = []string{s.write(systestkeys.TestRootAccount), s.write(systestkeys.TestRootAccountKey),
		s.write(systestkeys.TestStoreAccountKey)}
	acct := s.sign(asserts.AccountType, map[string]interface{}{
		"account-id": pub, "display-name": "Offline Dev", "username": "offline-dev", "validation": "verified",
	})
	m.Chain = append(m.Chain, s.write(acct))
	decl := s.sign(asserts.SnapDeclarationType, map[string]interface{}{
		"series": "16", "snap-id": m.SnapID, "snap-name": snapName, "publisher-id": pub,
	})
	m.SnapDeclaration = s.write(decl)

	for _, r := range snapRevs {
		src := filepath.Join(outDir, "src", fmt.Sprintf("%s_%d", snapName, r.Rev))
		writeSnapDir(src, r)
		fn := fmt.Sprintf("%s_%d.snap", snapName, r.Rev)
		_, err := pack.Pack(src, &pack.Options{TargetDir: filepath.Join(outDir, "blobs"), SnapName: fn})
		must(err)
		digest, size, err := asserts.SnapFileSHA3_384(filepath.Join(outDir, "blobs", fn))
		must(err)
		srev := s.sign(asserts.SnapRevisionType, map[string]interface{}{
			"snap-sha3-384": digest, "snap-id": m.SnapID, "snap-size": fmt.Sprintf("%d", size),
			"snap-revision": fmt.Sprintf("%d", r.Rev), "developer-id": pub,
		})
		m.Revisions = append(m.Revisions, revJSON{Revision: r.Rev, Version: r.Version, Sha3_384: b64ToHex(digest),
			Size: size, File: filepath.Join("blobs", fn), SnapRevision: s.write(srev), Stage: snapStage[r.Rev]})
	}
	for _, c := range compRevs {
		src := filepath.Join(outDir, "src", fmt.Sprintf("%s+%s_%d", snapName, c.Name, c.Rev))
		writeCompDir(src, c)
		fn := fmt.Sprintf("%s+%s_%d.comp", snapName, c.Name, c.Rev)
		_, err := pack.Pack(src, &pack.Options{TargetDir: filepath.Join(outDir, "blobs"), SnapName: fn})
		must(err)
		digest, size, err := asserts.SnapFileSHA3_384(filepath.Join(outDir, "blobs", fn))
		must(err)
		rrev := s.sign(asserts.SnapResourceRevisionType, map[string]interface{}{
			"snap-id": m.SnapID, "resource-name": c.Name, "resource-sha3-384": digest,
			"resource-size": fmt.Sprintf("%d", size), "resource-revision": fmt.Sprintf("%d", c.Rev), "developer-id": pub,
		})
		cj := compJSON{Name: c.Name, Type: "component/" + components[c.Name], Revision: c.Rev, Version: c.Version,
			Sha3_384: b64ToHex(digest), Size: size, File: filepath.Join("blobs", fn), ResourceRevision: s.write(rrev),
			SnapRevisions: c.Pairs, Stage: c.Stage}
		for _, sr := range c.Pairs {
			pair := s.sign(asserts.SnapResourcePairType, map[string]interface{}{
				"snap-id": m.SnapID, "resource-name": c.Name, "resource-revision": fmt.Sprintf("%d", c.Rev),
				"snap-revision": fmt.Sprintf("%d", sr), "developer-id": pub,
			})
			cj.ResourcePairs = append(cj.ResourcePairs, s.write(pair))
		}
		m.Components = append(m.Components, cj)
	}
	must(os.RemoveAll(filepath.Join(outDir, "src")))
	b, err := json.MarshalIndent(m, "", "  ")
	must(err)
	must(os.WriteFile(filepath.Join(outDir, "manifest.json"), append(b, '\n'), 0644))
	fmt.Printf("compgen: %s with %d revisions and %d component revisions in %s\n", snapName, len(m.Revisions), len(m.Components), outDir)
}

// Package errs holds berth's error subjects: one sentinel per thing that can
// be missing, clash or fail (a container, an image, a runtime, a payload's
// command), each wrapping one class of github.com/containerd/errdefs.
//
// Engine packages wrap a subject with what they know:
//
//	fmt.Errorf("container %q: %w", ref, errs.NoSuchContainer)
//
// so errors.Is(err, errs.NoSuchContainer) and errdefs.IsNotFound(err) both
// hold. The edges translate subjects first and classes second: D-Bus in
// dbusapi/contract (io.berth.Engine1.Error.NoSuchImage, as machined's
// NoSuchMachine/NoSuchImage), HTTP status codes by class. This package
// imports nothing of berth, so clients (berthctl) can link it.
package errs

import "github.com/containerd/errdefs"

// Subject is an error subject: a fixed message that unwraps to an errdefs
// class.
type Subject struct {
	msg   string
	class error
}

func (s *Subject) Error() string { return s.msg }

// Unwrap returns the errdefs class, so errdefs.IsNotFound and friends hold.
func (s *Subject) Unwrap() error { return s.class }

// New returns a subject with message msg in class (an errdefs sentinel).
func New(msg string, class error) *Subject { return &Subject{msg: msg, class: class} }

// The subjects. Messages are docker's wording where docker has one.
var (
	NoSuchContainer = New("no such container", errdefs.ErrNotFound)
	NoSuchImage     = New("no such image", errdefs.ErrNotFound)
	NoSuchRuntime   = New("no such runtime", errdefs.ErrNotFound)
	// NoSuchVolume: a named volume does not exist (docker: "no such
	// volume").
	NoSuchVolume = New("no such volume", errdefs.ErrNotFound)
	// NoSuchNetwork: a network does not exist (docker: "network X not
	// found").
	NoSuchNetwork = New("no such network", errdefs.ErrNotFound)
	// NoSuchPlatform: an image index has no manifest for the host's
	// platform.
	NoSuchPlatform = New("no image for this platform", errdefs.ErrNotFound)
	// NameInUse: a container name is taken (docker: "Conflict. The
	// container name ... is already in use").
	NameInUse = New("name already in use", errdefs.ErrAlreadyExists)
	// CommandNotFound: the payload's executable does not exist (docker
	// run and exec exit 127).
	CommandNotFound = New("executable file not found", errdefs.ErrNotFound)
	// CommandNotExecutable: the payload's executable exists but cannot be
	// run: a directory, no execute permission (docker exits 126).
	CommandNotExecutable = New("cannot execute", errdefs.ErrFailedPrecondition)
)

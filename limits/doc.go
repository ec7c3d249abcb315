// Package limits holds the bounds berth puts on resource and timeout
// values, with their checks, so that berthd (which enforces them for
// every client) and berthctl (which checks them first, to name the flag
// the user typed) agree.
//
// Invariants: the package has no state and no dependencies on the rest of
// berth. Errors describe only what is wrong with the value ("negative",
// "below the minimum of ..."); callers lead them with the field or flag
// and the value, and add the error class.
package limits

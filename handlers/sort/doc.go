// Package sort is the 分拣 itself: it decides, for every captured row version, whether it belongs to Wuhan and
// which unit handles it, and keeps the dedicated store exactly equal to that decision — parking rows whose parent
// has not arrived, and carrying whole families along when a work order or an organisation moves.
package sort

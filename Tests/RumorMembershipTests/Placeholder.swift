// The membership simulator tests land here (issue 3); this file keeps the target present meanwhile.
import Testing

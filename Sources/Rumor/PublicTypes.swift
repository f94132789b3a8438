import RumorLink
import RumorMembership
import RumorMessaging
import RumorWire

// The types the library API speaks in, so that `import Rumor` is all an embedding program needs.
public typealias NodeID = RumorWire.NodeID
public typealias PeerAddress = RumorWire.PeerAddress
public typealias Endpoint = RumorWire.Endpoint
public typealias MemberState = RumorMembership.MemberState
public typealias MembershipSettings = RumorMembership.MembershipSettings
public typealias MessagingSettings = RumorMessaging.MessagingSettings
public typealias BroadcastSettings = RumorMessaging.BroadcastSettings
public typealias BroadcastKey = RumorMessaging.BroadcastKey
public typealias LinkSettings = RumorLink.LinkSettings

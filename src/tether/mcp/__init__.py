"""The MCP adapter: ``tether mcp`` serves the workspace to any MCP client over stdio.

Like cli/ and hooks/, an adapter over the library: each tool is one call on the
Workspace or a capability facade (Campaign, Compactor). The MCP SDK (the
``tether[mcp]`` extra) is imported by ``tether.mcp.server`` alone, so nothing
else in tether pays for it.
"""

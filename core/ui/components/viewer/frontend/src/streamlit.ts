// Streamlit's custom-component protocol (components v1), spoken directly over postMessage.
// Python's arguments arrive in "streamlit:render"; bytes arguments arrive as Uint8Array.

export type Args = Record<string, unknown>;

function post(type: string, data: Record<string, unknown> = {}): void {
  window.parent.postMessage({ isStreamlitMessage: true, type, ...data }, "*");
}

/** Register the render callback and tell Streamlit the component is ready. */
export function connect(onRender: (args: Args) => void): void {
  window.addEventListener("message", (event: MessageEvent) => {
    const data = event.data as { type?: string; args?: Args } | null;
    if (data && data.type === "streamlit:render") onRender(data.args || {});
  });
  post("streamlit:componentReady", { apiVersion: 1 });
}

/** The component's value (Streamlit keeps only the latest one and reruns the script). */
export function setValue(value: unknown): void {
  post("streamlit:setComponentValue", { value, dataType: "json" });
}

export function setFrameHeight(height: number): void {
  post("streamlit:setFrameHeight", { height });
}

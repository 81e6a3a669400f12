// Entry point: one Viewer in the component's iframe, fed by Streamlit's render events.
import { connect } from "./streamlit";
import { Viewer } from "./viewer";

const root = document.getElementById("root") as HTMLDivElement;
document.body.style.cssText = "margin:0;background:#0b0e12;overflow:hidden";
const viewer = new Viewer(root);
(window as unknown as { medlensViewer: Viewer }).medlensViewer = viewer;
connect((args) => viewer.render(args));

import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { RefreshProvider } from "./refresh";
import "./styles.css";

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <RefreshProvider>
      <App />
    </RefreshProvider>
  </StrictMode>,
);

// Chart.js wrappers: the hourly energy charts (Historical) and the book's step curves (Marketplace).
import {
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  ScatterController,
  Tooltip,
} from 'chart.js';

Chart.register(
  LineController,
  ScatterController,
  LineElement,
  PointElement,
  LinearScale,
  CategoryScale,
  Legend,
  Tooltip,
  Filler,
);
Chart.defaults.font.family = 'system-ui, sans-serif';
Chart.defaults.color = '#1f2933';
Chart.defaults.animation = false;

export const COLORS = {
  measured: '#1d4ed8',
  forecast: '#b45309',
  demand: '#1d4ed8',
  supply: '#047857',
  clear: '#b91c1c',
};

export interface HourlySeries {
  labels: string[];
  measured: (number | null)[];
  forecast: (number | null)[];
}

export function hourlyChart(canvas: HTMLCanvasElement, yTitle: string): Chart<'line', (number | null)[], string> {
  return new Chart(canvas, {
    type: 'line',
    data: {
      labels: [],
      datasets: [
        { label: 'Measured', data: [], borderColor: COLORS.measured, backgroundColor: COLORS.measured, pointRadius: 2 },
        {
          label: 'Forecast',
          data: [],
          borderColor: COLORS.forecast,
          backgroundColor: COLORS.forecast,
          borderDash: [6, 4],
          pointRadius: 2,
        },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 9 } },
        y: { beginAtZero: true, title: { display: true, text: yTitle } },
      },
    },
  });
}

export function setHourly(chart: Chart<'line', (number | null)[], string>, s: HourlySeries): void {
  chart.data.labels = s.labels;
  chart.data.datasets[0]!.data = s.measured;
  chart.data.datasets[1]!.data = s.forecast;
  chart.update();
}

type Pt = { x: number; y: number };

export function bookChart(canvas: HTMLCanvasElement): Chart<'scatter', Pt[]> {
  return new Chart(canvas, {
    type: 'scatter',
    data: {
      datasets: [
        {
          label: 'Demand (bids)',
          data: [],
          showLine: true,
          stepped: false,
          borderColor: COLORS.demand,
          pointRadius: 0,
          backgroundColor: COLORS.demand,
          borderWidth: 2,
        },
        {
          label: 'Supply (asks)',
          data: [],
          showLine: true,
          stepped: false,
          borderColor: COLORS.supply,
          pointRadius: 0,
          backgroundColor: COLORS.supply,
          borderWidth: 2,
        },
        {
          label: 'Would clear now',
          data: [],
          pointRadius: 7,
          pointStyle: 'crossRot',
          borderColor: COLORS.clear,
          backgroundColor: COLORS.clear,
          borderWidth: 3,
        },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      scales: {
        x: { type: 'linear', beginAtZero: true, grace: '8%', title: { display: true, text: 'kWh (cumulative)' } },
        y: { beginAtZero: true, grace: '10%', title: { display: true, text: 'tokens/kWh' } },
      },
    },
  });
}

export function setBook(chart: Chart<'scatter', Pt[]>, demand: Pt[], supply: Pt[], clearing: Pt | null): void {
  chart.data.datasets[0]!.data = demand;
  chart.data.datasets[1]!.data = supply;
  chart.data.datasets[2]!.data = clearing ? [clearing] : [];
  chart.update();
}
